"""Sign-in throttling: a flood of wrong tokens cannot starve the server or guess a token.

Checking a token costs a deliberately slow scrypt hash, so every attempt is CPU an attacker
spends of ours. Failures are counted per user name and per client address. Past a few free
failures, the next attempt must wait ``base_delay_s * 2**(extra failures)`` seconds (capped);
while it waits, the server answers 429 without hashing anything. A successful sign-in clears
the user's and the client's counts. Memory is bounded: the oldest entries are dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Entry:
    failures: int = 0
    blocked_until: float = 0.0


class SignInThrottle:
    """Failure counts and back-off per user name and per client address.

    Parameters
    ----------
    user_failures, client_failures
        Failures allowed before back-off starts (a client may front several people: NAT).
    base_delay_s, max_delay_s
        First wait, doubled per further failure, never longer than ``max_delay_s``.
    clock
        Monotonic seconds (a test passes its own).
    max_entries
        Most names and addresses remembered.
    """

    def __init__(self, *, user_failures: int = 5, client_failures: int = 20,
                 base_delay_s: float = 1.0, max_delay_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 10_000) -> None:
        self.limits = {"user": user_failures, "client": client_failures}
        self.base_delay_s, self.max_delay_s = base_delay_s, max_delay_s
        self.clock, self.max_entries = clock, max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _keys(self, user: str, client: str) -> list[tuple[str, str]]:
        return [("user", user.strip().lower()[:200]), ("client", client)]

    def wait_s(self, user: str, client: str) -> int:
        """Seconds before ``user`` from ``client`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [e.blocked_until - now for k in self._keys(user, client)
                     if (e := self._entries.get(k)) is not None]
        longest = max(waits, default=0.0)
        return int(-(-longest // 1)) if longest > 0 else 0  # rounded up to whole seconds

    def failed(self, user: str, client: str) -> None:
        """Count a failed attempt and set the back-off it earns."""
        now = self.clock()
        with self._lock:
            for key in self._keys(user, client):
                entry = self._entries.pop(key, None) or _Entry()
                entry.failures += 1
                extra = entry.failures - self.limits[key[0]]
                if extra >= 0:
                    delay = min(self.max_delay_s, self.base_delay_s * 2 ** min(extra, 30))
                    entry.blocked_until = now + delay
                self._entries[key] = entry  # most recent last
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def succeeded(self, user: str, client: str) -> None:
        with self._lock:
            for key in self._keys(user, client):
                self._entries.pop(key, None)

"""Progress lines on stderr for long commands: one line per finished stage (with its counts) and
per finished item of a counted loop (with an ETA), each with the elapsed time.

Library code reports through :func:`stage`, :func:`begin_items` and :func:`item_done`; they print
nothing unless a command turned reporting on with :func:`to_stderr` (the ``moltwin`` CLI does for
``demo``, ``screen``, ``assays sync``, ``models evaluate`` and ``simulate``), so library users and
tests stay silent. Lines look like::

    moltwin screen [0:41] stage 3/8 filter: kept 212, rejected 180, failed 8 (cache miss)
    moltwin screen [2:05] simulate 1/3 ejm_31: ok (ETA ~4:10)
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def describe_counts(out: dict | None) -> str:
    """``{"n_kept": 212, "n_rejected": 180, "cache": "miss"}`` -> ``"kept 212, rejected 180 (cache miss)"``."""
    if not isinstance(out, dict):
        return ""
    counts = [f"{key[2:].replace('_', ' ')} {value}" for key, value in out.items()
              if key.startswith("n_") and isinstance(value, int) and not isinstance(value, bool)]
    text = ", ".join(counts)
    if out.get("skipped"):
        text = f"{text}, skipped" if text else "skipped"
    if out.get("cache") in ("hit", "miss"):
        text += f" (cache {out['cache']})"
    return text.strip()


class Reporter:
    """Writes progress lines for one command to ``stream``; thread-safe."""

    def __init__(self, title: str, stream: TextIO, n_stages: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.title, self.stream, self.n_stages, self.clock = title, stream, n_stages, clock
        self.start = clock()
        self.stages_done = 0
        self._items: dict[str, tuple[int, int, float]] = {}  # what -> (done, total, started)
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        self.stream.write(f"{self.title} [{_clock(self.clock() - self.start)}] {text}\n")
        self.stream.flush()

    def stage(self, name: str, detail: dict | str | None = None) -> None:
        with self._lock:
            self.stages_done += 1
            of = f"/{self.n_stages}" if self.n_stages else ""
            text = detail if isinstance(detail, str) else describe_counts(detail)
            self._write(f"stage {self.stages_done}{of} {name}" + (f": {text}" if text else ""))

    def begin_items(self, what: str, total: int) -> None:
        with self._lock:
            self._items[what] = (0, total, self.clock())
            if total:
                self._write(f"{what} 0/{total} started")

    def item_done(self, what: str, detail: str = "") -> None:
        with self._lock:
            done, total, started = self._items.get(what, (0, 0, self.clock()))
            done += 1
            self._items[what] = (done, total, started)
            eta = ""
            if total and done < total:
                eta = f" (ETA ~{_clock((self.clock() - started) / done * (total - done))})"
            of = f"/{total}" if total else ""
            self._write(f"{what} {done}{of}" + (f" {detail}" if detail else "") + eta)


_active: Reporter | None = None


@contextlib.contextmanager
def to_stderr(title: str, n_stages: int | None = None, stream: TextIO | None = None) -> Iterator[Reporter]:
    """Turn progress reporting on for the body (``title`` starts each line)."""
    global _active
    previous, _active = _active, Reporter(title, stream or sys.stderr, n_stages)
    try:
        yield _active
    finally:
        _active = previous


def stage(name: str, detail: dict | str | None = None) -> None:
    """Report a finished stage with its counts (a stage's output dict, or a short text)."""
    if _active is not None:
        _active.stage(name, detail)


def begin_items(what: str, total: int) -> None:
    """Start a counted loop of ``total`` items (simulations, model kinds, ...)."""
    if _active is not None:
        _active.begin_items(what, total)


def item_done(what: str, detail: str = "") -> None:
    """Report one finished item of ``what``, with the ETA of the rest."""
    if _active is not None:
        _active.item_done(what, detail)

"""People who use the web page: named users with a role, per-user tokens, sign-in sessions.

A token is shown once when the user is added and only its salted scrypt hash is
stored; checking one compares hashes in constant time. A session is a random
cookie value whose SHA-256 is stored with the user's name, a per-session CSRF
token and an expiry. Plain Python over the twin store (no web framework), so the
``moltwin users`` commands stay quick.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, select, update

from lab_sync import schema
from lab_sync.store import TwinStore, utcnow
from moltwin.errors import BadInputError

ROLES = ("uploader", "viewer")
SESSION_HOURS = 12
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
# scrypt cost: ~50 ms per check on a laptop core, which makes guessing slow without making sign-in slow.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str

    @property
    def can_upload(self) -> bool:
        return self.role == "uploader"


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    session_hash: str


def hash_token(token: str, *, salt: bytes | None = None, n: int = _SCRYPT_N, r: int = _SCRYPT_R,
               p: int = _SCRYPT_P) -> str:
    """Salted scrypt hash of ``token`` as ``scrypt$n$r$p$salt$hash`` (hex)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(token.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_token(token: str, stored: str) -> bool:
    """True when ``token`` hashes to ``stored`` (constant-time comparison of the digests)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        again = hash_token(token, salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(again.rsplit("$", 1)[1], digest)


# A fixed hash to check against when the name is unknown, so a wrong name costs as long as a wrong token.
_DUMMY_HASH = hash_token("not-a-real-token", salt=b"\x00" * 16)


def add_user(store: TwinStore, name: str, role: str, *, replace: bool = False) -> str:
    """Add a user (or give an existing one a new token with ``replace``); returns the new token.

    The token is returned once and never stored; replacing it also ends the user's sessions.
    """
    if not _NAME_RE.match(name):
        raise BadInputError(f"user name '{name}' is not allowed: use letters, digits, '.', '_', '-', '@' "
                            "(at most 100 characters, starting with a letter or digit)", field="name")
    if role not in ROLES:
        raise BadInputError(f"unknown role '{role}' (choose {' or '.join(ROLES)})", field="role")
    token = secrets.token_urlsafe(24)
    u = schema.users
    with store.transaction() as conn:
        exists = conn.execute(select(u.c.name).where(u.c.name == name)).first()
        if exists and not replace:
            raise BadInputError(f"user '{name}' already exists (use --replace to give a new token)",
                                field="name")
        if exists:
            conn.execute(delete(schema.sessions).where(schema.sessions.c.user_name == name))
            conn.execute(update(u).where(u.c.name == name).values(role=role, token_hash=hash_token(token)))
        else:
            conn.execute(insert(u).values(name=name, role=role, token_hash=hash_token(token),
                                          created_at=utcnow()))
    return token


def list_users(store: TwinStore) -> list[dict]:
    """Users with their role and creation time (never their token hash)."""
    u = schema.users
    with store.engine.connect() as conn:
        rows = conn.execute(select(u.c.name, u.c.role, u.c.created_at).order_by(u.c.name)).all()
    return [{"name": r.name, "role": r.role, "created_at": r.created_at} for r in rows]


def authenticate(store: TwinStore, name: str, token: str) -> User | None:
    """The user when ``name`` and ``token`` match, else None (same cost either way)."""
    u = schema.users
    with store.engine.connect() as conn:
        row = conn.execute(select(u.c.name, u.c.role, u.c.token_hash).where(u.c.name == name)).first()
    ok = verify_token(token, row.token_hash if row else _DUMMY_HASH)
    return User(row.name, row.role) if (row and ok) else None


def _as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def open_session(store: TwinStore, user: User, *, hours: float = SESSION_HOURS) -> tuple[str, str]:
    """Start a session; returns ``(cookie value, csrf token)``. Expired sessions are cleared here."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    s = schema.sessions
    with store.transaction() as conn:
        conn.execute(delete(s).where(s.c.expires_at < now))
        conn.execute(insert(s).values(session_hash=_digest(cookie), user_name=user.name, csrf_token=csrf,
                                      created_at=now, expires_at=now + timedelta(hours=hours)))
    return cookie, csrf


def find_session(store: TwinStore, cookie: str | None) -> Session | None:
    """The live session for a cookie value, or None (unknown, expired, or user gone)."""
    if not cookie:
        return None
    s, u = schema.sessions, schema.users
    with store.engine.connect() as conn:
        row = conn.execute(select(s.c.session_hash, s.c.csrf_token, s.c.expires_at, u.c.name, u.c.role)
                           .join(u, u.c.name == s.c.user_name)
                           .where(s.c.session_hash == _digest(cookie))).first()
    if row is None or _as_utc(row.expires_at) < utcnow():
        return None
    return Session(User(row.name, row.role), row.csrf_token, row.session_hash)


def close_session(store: TwinStore, cookie: str | None) -> None:
    if cookie:
        with store.transaction() as conn:
            conn.execute(delete(schema.sessions).where(schema.sessions.c.session_hash == _digest(cookie)))


def csrf_ok(session: Session, submitted: str | None) -> bool:
    # bytes, because compare_digest refuses non-ASCII str (a tampered form could send some)
    return bool(submitted) and hmac.compare_digest(session.csrf_token.encode(), (submitted or "").encode())

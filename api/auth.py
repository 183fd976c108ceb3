"""Passwords (bcrypt), operator tokens (JWT HS256) and edge-box API keys (stored as sha256).

Create a key for an edge box from code (what the edge engineer's tests use)::

    from gatewatch.api.auth import create_api_key
    key = create_api_key(settings, gate="huu-nghi", camera="cam-1")   # or a Session
    httpx.post(url, headers={"X-API-Key": key}, json={"events": [...]})
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import bcrypt
import jwt
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatewatch.api.models import ApiKey, AppSecret, User
from gatewatch.api.settings import Settings
from gatewatch.errors import ConfigError

ROLES = ("operator", "admin")
KEY_PREFIX = "gwk_"
JWT_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (bcrypt uses at most 72 bytes; longer is refused)."""
    raw = password.encode()
    if len(raw) > 72:
        raise ConfigError("password longer than 72 bytes")
    return bcrypt.hashpw(raw, bcrypt.gensalt()).decode()


def verify_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches the stored bcrypt hash."""
    raw = password.encode()
    return len(raw) <= 72 and bcrypt.checkpw(raw, password_hash.encode())


def hash_key(key: str) -> str:
    """sha256 hex of an API key: the only form the database keeps."""
    return hashlib.sha256(key.encode()).hexdigest()


def _check_name(what: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 64:
        raise ConfigError(f"{what} must be 1-64 characters, got {value!r}")
    return value


def create_user(session: Session, username: str, password: str, role: str = "operator") -> User:
    """Add a user with a bcrypt-hashed password; raises ``ConfigError`` on a bad role or a taken name."""
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < 8:
        raise ConfigError("password must be at least 8 characters")
    user = User(username=_check_name("username", username), password_hash=hash_password(password), role=role)
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConfigError(f"user {username!r} already exists") from exc
    return user


@functools.cache
def _unknown_user_hash() -> str:
    """A bcrypt hash at the cost real users have, to verify against when the user does not exist."""
    return hash_password(secrets.token_urlsafe(24))


def check_password(password: str, password_hash: str | None) -> bool:
    """``verify_password``, but an absent hash still costs one full bcrypt verify (no username enumeration)."""
    if password_hash is None:
        verify_password(password, _unknown_user_hash())
        return False
    return verify_password(password, password_hash)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The enabled user with these credentials, or None; every path runs one bcrypt verify."""
    user = session.scalar(select(User).where(User.username == username))
    ok = check_password(password, user.password_hash if user is not None else None)
    return user if ok and user is not None and not user.disabled else None


def find_user(session: Session, username: str) -> User:
    """The user called ``username``; ``ConfigError`` when there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ConfigError(f"no user {username!r}")
    return user


def end_tokens(session: Session, user: User) -> None:
    """Bump the user's token version (in the database, atomically): every token issued so far stops working."""
    session.execute(update(User).where(User.id == user.id).values(token_version=User.token_version + 1))
    session.commit()
    session.refresh(user)


def set_password(session: Session, user: User, password: str) -> None:
    """Store a new bcrypt hash and end every older token of the user."""
    if len(password) < 8:
        raise ConfigError("password must be at least 8 characters")
    user.password_hash = hash_password(password)
    end_tokens(session, user)


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable (sign-in refused, every token ended at once) or enable a user."""
    user.disabled = disabled
    if disabled:
        end_tokens(session, user)
    else:
        session.commit()


@dataclass(frozen=True)
class NewKey:
    """A freshly created API key: ``key`` is shown once and never stored in clear."""

    key: str
    record: ApiKey


def new_api_key(session: Session, gate: str, camera: str = "*", name: str = "", created_by: str = "") -> NewKey:
    """Create and store a key scoped to ``gate`` / ``camera`` (``*`` for every camera of the gate)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        key_hash=hash_key(key), prefix=key[:12], gate=_check_name("gate", gate),
        camera=_check_name("camera", camera), name=name, created_by=created_by,
    )
    session.add(record)
    session.commit()
    return NewKey(key=key, record=record)


def create_api_key(session_or_settings: Session | Settings, gate: str, camera: str = "*", name: str = "") -> str:
    """Create an edge-box key and return it in clear (the one time it is visible).

    Takes an open ``Session`` or ``Settings`` (then it opens the database itself and runs
    migrations first when ``settings.migrate_on_start``).
    """
    if isinstance(session_or_settings, Session):
        return new_api_key(session_or_settings, gate, camera, name).key
    from gatewatch.api.db import make_engine, make_sessionmaker, upgrade

    engine = make_engine(session_or_settings)
    try:
        if session_or_settings.migrate_on_start:
            upgrade(engine)
        with make_sessionmaker(engine)() as session:
            return new_api_key(session, gate, camera, name).key
    finally:
        engine.dispose()


def lookup_api_key(session: Session, key: str) -> ApiKey | None:
    """The live (not revoked) key record for ``key``, or None."""
    record = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if record is None or record.revoked_at is not None:
        return None
    return record


def key_allows(record: ApiKey, gate: str, camera: str) -> bool:
    """True when the key may act for ``gate`` / ``camera``."""
    return record.gate == gate and record.camera in ("*", camera)


def stored_secret(session: Session, name: str) -> str:
    """The secret ``name`` kept in ``app_secrets``, made (32 random bytes) on first use.

    Every worker and every restart on the same database gets the same value: two workers racing to
    make it both end up with the one that was inserted first.
    """
    record = session.get(AppSecret, name)
    if record is None:
        session.add(AppSecret(name=name, value=secrets.token_urlsafe(32)))
        try:
            session.commit()
        except IntegrityError:  # another worker made it first
            session.rollback()
        record = session.get(AppSecret, name, populate_existing=True)
    assert record is not None
    return record.value


def create_token(secret: str, user: User, ttl: timedelta) -> str:
    """Signed bearer token bound to the user's id, name and current token version."""
    now = datetime.now(timezone.utc)
    claims = {"sub": str(user.id), "name": user.username, "role": user.role, "ver": user.token_version,
              "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_token(secret: str, token: str) -> dict[str, object] | None:
    """The token's claims, or None when it is malformed, forged or expired."""
    try:
        return jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "ver", "exp"]})
    except jwt.PyJWTError:
        return None


def user_for_token(session: Session, secret: str, token: str) -> User | None:
    """The enabled user a token was issued to, while its version is current; None otherwise.

    Checked on every request: a deleted user (ids are never reused), a renamed one, a disabled one,
    or one whose tokens were ended (sign-out, password change, disable) gets None.
    """
    claims = decode_token(secret, token)
    if claims is None or not str(claims["sub"]).isdigit():
        return None
    user = session.get(User, int(str(claims["sub"])))
    if user is None or user.disabled or user.username != claims.get("name") or user.token_version != claims["ver"]:
        return None
    return user

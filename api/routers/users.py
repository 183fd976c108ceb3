"""Users (own password, admin: list, create, disable, enable) and API keys."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gatewatch.api.auth import (
    check_password,
    create_user,
    find_user,
    hash_password,
    new_api_key,
    set_disabled,
)
from gatewatch.api.deps import AdminDep, OperatorDep, SessionDep
from gatewatch.api.login_throttle import Attempt
from gatewatch.api.models import ApiKey, User, utcnow
from gatewatch.api.routers.auth import THROTTLED, client_address, run_bcrypt, token_for
from gatewatch.api.schemas import KeyCreated, KeyIn, KeyOut, PasswordChange, Token, UserIn, UserOut
from gatewatch.errors import ConfigError

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/users/me", response_model=UserOut)
def me(user: OperatorDep) -> User:
    """The signed-in user."""
    return user


def _admit_password_change(request: Request, session: Session, user: User) -> Attempt:
    attempt = request.app.state.login_throttle.admit(session, user.username, client_address(request))
    session.close()  # hold no database connection while bcrypt runs
    return attempt


def _store_password(request: Request, user: User, new_hash: str, attempt: Attempt) -> Token | None:
    with request.app.state.sessionmaker() as session:
        request.app.state.login_throttle.succeeded(session, attempt)
        current = session.get(User, user.id)
        if current is None or current.disabled or current.token_version != user.token_version:
            return None  # signed out, disabled or changed elsewhere while bcrypt ran
        current.password_hash = new_hash
        current.token_version = User.token_version + 1  # in SQL: a racing sign-out is not lost
        session.commit()
        session.refresh(current)
        return token_for(request, current)


@router.post("/users/me/password", response_model=Token, responses={
    403: {"description": "Current password is wrong"}, 429: {"description": "Too many failed attempts"}})
async def change_password(request: Request, body: PasswordChange, session: SessionDep, user: OperatorDep) -> Token:
    """Change your password; every older token of yours stops working, the answer carries a new one.

    A wrong current password counts as a failed sign-in (same throttle).
    """
    attempt = await run_in_threadpool(_admit_password_change, request, session, user)
    if attempt.retry_after_s is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, THROTTLED,
                            headers={"Retry-After": str(attempt.retry_after_s)})
    if not await run_bcrypt(request, check_password, body.current_password, user.password_hash):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "current password is wrong")
    try:
        new_hash = await run_bcrypt(request, hash_password, body.new_password)
    except ConfigError as exc:  # over bcrypt's 72 bytes
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    token = await run_in_threadpool(_store_password, request, user, new_hash, attempt)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"})
    return token


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, _admin: AdminDep) -> list[User]:
    """Every user (admin)."""
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "Username taken"}})
def add_user(body: UserIn, session: SessionDep, _admin: AdminDep) -> User:
    """Create an operator or admin (admin)."""
    try:
        return create_user(session, body.username, body.password, body.role)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def _set_disabled(session: SessionDep, admin: User, username: str, disabled: bool) -> User:
    try:
        user = find_user(session, username)
    except ConfigError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if disabled and user.id == admin.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable yourself")
    set_disabled(session, user, disabled)
    return user


@router.post("/users/{username}/disable", response_model=UserOut, responses={404: {}, 409: {}})
def disable_user(username: str, session: SessionDep, admin: AdminDep) -> User:
    """Disable a user: sign-in refused and every token of theirs stops working at once (admin)."""
    return _set_disabled(session, admin, username, True)


@router.post("/users/{username}/enable", response_model=UserOut, responses={404: {}})
def enable_user(username: str, session: SessionDep, admin: AdminDep) -> User:
    """Let a disabled user sign in again; tokens ended by the disable stay ended (admin)."""
    return _set_disabled(session, admin, username, False)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(session: SessionDep, _admin: AdminDep) -> list[ApiKey]:
    """Every API key's record, never the key itself (admin)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


@router.post("/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def add_key(body: KeyIn, session: SessionDep, admin: AdminDep) -> KeyCreated:
    """Create an edge-box key for a gate and camera ('*': whole gate); the key is shown only here (admin)."""
    created = new_api_key(session, body.gate, body.camera, body.name, admin.username)
    return KeyCreated(key=created.key, **KeyOut.model_validate(created.record).model_dump())


@router.delete("/keys/{key_id}", response_model=KeyOut)
def revoke_key(key_id: int, session: SessionDep, _admin: AdminDep) -> ApiKey:
    """Revoke a key: it stops working at once (admin)."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"API key {key_id} not found")
    if record.revoked_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"API key {key_id} is already revoked")
    record.revoked_at = utcnow()
    session.commit()
    return record

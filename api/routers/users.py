"""Sign-in, users and API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from gatewatch.api.auth import authenticate, create_token, create_user, new_api_key
from gatewatch.api.deps import AdminDep, OperatorDep, SessionDep, SettingsDep
from gatewatch.api.models import ApiKey, User, utcnow
from gatewatch.api.schemas import KeyCreated, KeyIn, KeyOut, Token, UserIn, UserOut
from gatewatch.errors import ConfigError

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=Token, responses={401: {"description": "Wrong credentials"}})
def sign_in(
    request: Request, session: SessionDep, settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchange username and password (form fields) for a bearer token."""
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    return Token(access_token=create_token(request.app.state.jwt_secret, user, ttl),
                 expires_in=int(ttl.total_seconds()), role=user.role)


@router.get("/users/me", response_model=UserOut)
def me(user: OperatorDep) -> User:
    """The signed-in user."""
    return user


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

"""Request dependencies: the DB session and who is calling (edge key or operator).

Use the ``Annotated`` aliases in routes::

    @router.get("/flags")
    def list_flags(session: SessionDep, user: OperatorDep) -> ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from gatewatch.api.auth import lookup_api_key, user_for_token
from gatewatch.api.models import ApiKey, User
from gatewatch.api.settings import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Edge-box API key.")
bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed afterwards."""
    with request.app.state.sessionmaker() as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def edge_key(session: SessionDep, key: Annotated[str | None, Depends(api_key_header)]) -> ApiKey:
    """The caller's API key record; 401 when missing, unknown or revoked."""
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-API-Key header")
    record = lookup_api_key(session, key)
    if record is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key")
    return record


def _user_from_token(request: Request, session: Session, token: str | None) -> User | None:
    return user_for_token(session, request.app.state.jwt_secret, token) if token else None


def current_user(request: Request, session: SessionDep, token: Annotated[str | None, Depends(bearer)]) -> User:
    """The signed-in user; 401 without a valid bearer token."""
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in: bearer token required",
                            headers={"WWW-Authenticate": "Bearer"})
    user = _user_from_token(request, session, token)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    """The signed-in user if an admin; 403 otherwise."""
    if user.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"admin role required (you are {user.role!r})")
    return user


def metrics_caller(
    request: Request, session: SessionDep,
    token: Annotated[str | None, Depends(bearer)], key: Annotated[str | None, Depends(api_key_header)],
) -> str:
    """Who scrapes /metrics: a signed-in user or any live API key; 401 otherwise."""
    user = _user_from_token(request, session, token)
    if user is not None:
        return user.username
    record = lookup_api_key(session, key) if key else None
    if record is not None:
        return f"key:{record.prefix}"
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "metrics need a bearer token or an X-API-Key",
                        headers={"WWW-Authenticate": "Bearer"})


EdgeKeyDep = Annotated[ApiKey, Depends(edge_key)]
OperatorDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(require_admin)]
MetricsCallerDep = Annotated[str, Depends(metrics_caller)]

"""Request dependencies: the DB session and who is calling (edge key or operator).

Use the ``Annotated`` aliases in routes::

    @router.get("/flags")
    def list_flags(session: SessionDep, user: OperatorDep) -> ...
"""

from __future__ import annotations

import hmac
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
    """Who scrapes /metrics: an admin token or ``GATEWATCH_METRICS_TOKEN`` (constant-time compare).

    Operators and edge keys get 403 (metrics show every gate's traffic); anything else 401.
    """
    scraper_secret = request.app.state.settings.metrics_token
    if token and scraper_secret is not None and hmac.compare_digest(
        token.encode(), scraper_secret.get_secret_value().encode()
    ):
        return "metrics-token"
    user = _user_from_token(request, session, token)
    if user is not None:
        return require_admin(user).username
    if key and lookup_api_key(session, key) is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "metrics are for admins and the metrics scraper, not edge keys")
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "metrics need an admin token or the metrics token",
                        headers={"WWW-Authenticate": "Bearer"})


EdgeKeyDep = Annotated[ApiKey, Depends(edge_key)]
OperatorDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(require_admin)]
MetricsCallerDep = Annotated[str, Depends(metrics_caller)]

"""Sign-in (throttled, bcrypt on its own executor) and sign-out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from gatewatch.api.auth import check_password, create_token, end_tokens
from gatewatch.api.deps import OperatorDep, SessionDep
from gatewatch.api.login_throttle import Attempt
from gatewatch.api.models import User
from gatewatch.api.schemas import Token
from gatewatch.contract.limits import check_text

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

WRONG = "wrong username or password"
THROTTLED = "too many failed sign-ins; try again later"
MAX_FORM_TEXT = 1024  # the form parser caps the body; this bounds the character check
T = TypeVar("T")


def client_address(request: Request) -> str:
    """The caller's address as uvicorn saw it (behind a proxy: run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class _Candidate:
    """What the password check needs, read before bcrypt so no DB connection is held during it."""

    attempt: Attempt
    password_hash: str | None
    disabled: bool


def _admit(request: Request, username: str) -> _Candidate:
    with request.app.state.sessionmaker() as session:
        attempt = request.app.state.login_throttle.admit(session, username, client_address(request))
        if attempt.retry_after_s is not None:
            return _Candidate(attempt, None, True)
        user = session.scalar(select(User).where(User.username == username))
        return _Candidate(attempt, user.password_hash if user else None, user.disabled if user else True)


def token_for(request: Request, user: User) -> Token:
    """A fresh bearer token for ``user`` at its current token version."""
    ttl = timedelta(minutes=request.app.state.settings.token_ttl_minutes)
    return Token(access_token=create_token(request.app.state.jwt_secret, user, ttl),
                 expires_in=int(ttl.total_seconds()), role=user.role)


def _issue(request: Request, attempt: Attempt) -> Token | None:
    with request.app.state.sessionmaker() as session:
        request.app.state.login_throttle.succeeded(session, attempt)
        user = session.scalar(select(User).where(User.username == attempt.username))
        if user is None or user.disabled:  # deleted or disabled while bcrypt ran
            return None
        return token_for(request, user)


async def run_bcrypt(request: Request, fn: Callable[..., T], *args: object) -> T:
    """Run a bcrypt call on the app's small password executor, never on the shared thread pool."""
    return await asyncio.get_running_loop().run_in_executor(request.app.state.password_pool, fn, *args)


@router.post("/token", response_model=Token, responses={
    401: {"description": "Wrong credentials (also for unknown or disabled users)"},
    429: {"description": "Too many failed sign-ins for this username or address; see Retry-After"},
})
async def sign_in(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange username and password (form fields) for a bearer token."""
    try:  # no stored name or password holds a control character (NUL would also fail on PostgreSQL)
        check_text(form.username[:MAX_FORM_TEXT])
        check_text(form.password[:MAX_FORM_TEXT])
    except ValueError as exc:
        raise HTTPException(422, f"username or password: {exc}") from None
    candidate = await run_in_threadpool(_admit, request, form.username)
    if candidate.attempt.retry_after_s is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, THROTTLED,
                            headers={"Retry-After": str(candidate.attempt.retry_after_s)})
    ok = await run_bcrypt(request, check_password, form.password, candidate.password_hash)
    token = await run_in_threadpool(_issue, request, candidate.attempt) if ok and not candidate.disabled else None
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG, headers={"WWW-Authenticate": "Bearer"})
    return token


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses={401: {"description": "Not signed in"}})
def sign_out(session: SessionDep, user: OperatorDep) -> Response:
    """End every token of the signed-in user (all their browsers and scripts), not only this one."""
    end_tokens(session, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

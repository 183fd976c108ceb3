"""Sign-in throttle: failed sign-ins counted per username, per username and address, and per address.

Three limits: a username from one address (default 10: the owner's typos, a guesser at one
address), a username from all addresses together (default 100: a guesser spread over many), and
one address over all usernames (default 50: a sprayer). So a guesser at one address locks the
username only for that address; the owner signing in from elsewhere is not locked out unless the
guessing comes from many addresses.

Every attempt first writes one row per scope, then counts the rows of each within the window
(its own included). Over a limit, its rows are taken back and the
caller gets the seconds until enough rows age out (``Retry-After``); this way parallel attempts
cannot all slip past the count, and every worker (``--workers N``) and restart shares the state.
A wrong password leaves its rows; a right one removes its own rows and every row of its username
and of its username from any address (the address keeps its count, so one good account does not
reset an address's guesses).

Example::

    throttle = LoginThrottle.from_settings(settings)
    attempt = throttle.admit(session, "olga", "10.0.0.7")
    if attempt.retry_after_s:   # 429
        ...
    throttle.succeeded(session, attempt)   # after a right password; nothing to do after a wrong one
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from gatewatch.api.models import LoginFailure, utcnow
from gatewatch.api.settings import Settings

USER, PAIR, ADDRESS = "user", "pair", "address"


def pair_subject(username: str, address: str) -> str:
    """The ``pair`` scope's subject: a digest of username and address (fits the 64-character column)."""
    return hashlib.sha256(f"{username}\x00{address}".encode()).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """One sign-in in progress: its rows, or ``retry_after_s`` when it was refused (its rows taken back)."""

    username: str
    row_ids: tuple[int, ...]
    retry_after_s: int | None = None


@dataclass(frozen=True)
class LoginThrottle:
    """Limits on failed sign-ins within a sliding window: per username and address, per username, per address."""

    window: timedelta
    per_user: int
    per_address: int
    per_user_address: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        """The throttle ``GATEWATCH_LOGIN_*`` describes."""
        return cls(timedelta(seconds=settings.login_window_s), settings.login_max_failures_per_user,
                   settings.login_max_failures_per_address, settings.login_max_failures_per_user_address)

    def admit(self, session: Session, username: str, address: str) -> Attempt:
        """Record an attempt for ``username`` from ``address``, or refuse it when any scope is over its limit."""
        now = utcnow()
        username, address = username[:64], address[:64]
        pair = pair_subject(username, address)
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window))
        rows = [LoginFailure(scope=USER, subject=username, at=now), LoginFailure(scope=PAIR, subject=pair, at=now),
                LoginFailure(scope=ADDRESS, subject=address, at=now)]
        session.add_all(rows)
        session.commit()
        ids = tuple(row.id for row in rows)
        waits = [self._wait_s(session, PAIR, pair, self.per_user_address, ids, now),
                 self._wait_s(session, USER, username, self.per_user, ids, now),
                 self._wait_s(session, ADDRESS, address, self.per_address, ids, now)]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is None:
            return Attempt(username, ids)
        self._forget(session, ids)
        return Attempt(username, (), wait)

    def succeeded(self, session: Session, attempt: Attempt) -> None:
        """A right password: drop this attempt's rows and the username's earlier failures (every address)."""
        pairs = select(LoginFailure.subject).where(LoginFailure.id.in_(attempt.row_ids), LoginFailure.scope == PAIR)
        session.execute(delete(LoginFailure).where(or_(
            LoginFailure.id.in_(attempt.row_ids),
            (LoginFailure.scope == USER) & (LoginFailure.subject == attempt.username),
            (LoginFailure.scope == PAIR) & LoginFailure.subject.in_(pairs.scalar_subquery()),
        )))
        session.commit()

    def _wait_s(self, session: Session, scope: str, subject: str, limit: int, own: tuple[int, ...],
                now: datetime) -> int | None:
        """Seconds until ``subject`` is under ``limit`` again, or None when it is under it now."""
        earlier = list(session.scalars(
            select(LoginFailure.at).where(LoginFailure.scope == scope, LoginFailure.subject == subject,
                                          LoginFailure.at >= now - self.window, LoginFailure.id.not_in(own))
            .order_by(LoginFailure.at)
        ))
        if len(earlier) < limit:
            return None
        frees_at = earlier[len(earlier) - limit] + self.window  # once this one ages out there is room
        return max(1, math.ceil((frees_at - utcnow()).total_seconds()))

    @staticmethod
    def _forget(session: Session, ids: tuple[int, ...]) -> None:
        session.execute(delete(LoginFailure).where(LoginFailure.id.in_(ids)))
        session.commit()

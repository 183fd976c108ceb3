"""Sign-in: throttled per username and per client address, the same bcrypt work for unknown users,
and bcrypt on its own small executor so a login storm does not hold up ingest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from gatewatch.api.app import create_app
from gatewatch.api.auth import create_user
from gatewatch.api.models import LoginFailure, utcnow
from tests.api.helpers import Env, crossing, serve_live

WINDOW_S = 600
PER_USER, PER_ADDRESS = 3, 5


@pytest.fixture(autouse=True)
def forget_failures(env: Env) -> Iterator[None]:
    """Each test starts and ends with an empty failure table (other modules sign in from the same addresses)."""
    yield
    with env.app.state.sessionmaker() as session:
        session.execute(delete(LoginFailure))
        session.commit()


@pytest.fixture(scope="module")
def throttled(env: Env) -> Iterator[FastAPI]:
    """The env's database behind an app with small throttle limits."""
    app = create_app(env.settings.model_copy(update={
        "login_window_s": WINDOW_S, "login_max_failures_per_user": PER_USER,
        "login_max_failures_per_address": PER_ADDRESS,
    }))
    yield app
    app.state.engine.dispose()


def from_address(app: FastAPI) -> TestClient:
    """A client that calls from its own fresh loopback address (so tests do not share address counters)."""
    octets = uuid.uuid4().bytes[:3]
    return TestClient(app, client=(f"127.{octets[0]}.{octets[1]}.{octets[2]}", 40000))


def login(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def fresh_user(app: FastAPI, password: str = "right-password") -> str:
    name = f"u-{uuid.uuid4().hex[:8]}"
    with app.state.sessionmaker() as session:
        create_user(session, name, password)
    return name


def assert_throttled(r: httpx.Response, window_s: int = WINDOW_S) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["detail"] == "too many failed sign-ins; try again later"
    assert 1 <= int(r.headers["Retry-After"]) <= window_s


def test_throttle_per_username_across_addresses(throttled: FastAPI) -> None:
    name = fresh_user(throttled)
    statuses = []
    for _ in range(PER_USER):
        with from_address(throttled) as c:
            statuses.append(login(c, name, "wrong-password").status_code)
    assert statuses == [401] * PER_USER
    with from_address(throttled) as c:
        assert_throttled(login(c, name, "right-password"))  # refused before the password is checked
        other = fresh_user(throttled)
        assert login(c, other, "right-password").status_code == 200


def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(env: Env) -> None:
    """Default limits: 10 wrong passwords for a name from one address lock that name at that address only."""
    app = create_app(env.settings)
    try:
        name = fresh_user(app)
        with from_address(app) as guesser:
            assert [login(guesser, name, "wrong-password").status_code for _ in range(10)] == [401] * 10
            assert_throttled(login(guesser, name, "right-password"), window_s=env.settings.login_window_s)
        with from_address(app) as owner:
            assert login(owner, name, "right-password").status_code == 200
        with from_address(app) as guesser_again:  # the owner's success did not free other addresses' guesses
            assert login(guesser_again, name, "wrong-password").status_code == 401
    finally:
        app.state.engine.dispose()


def test_throttle_per_address_across_usernames(throttled: FastAPI) -> None:
    name = fresh_user(throttled)
    with from_address(throttled) as c:
        assert [login(c, f"ghost-{i}", "wrong-password").status_code for i in range(PER_ADDRESS)] == [401] * PER_ADDRESS
        assert_throttled(login(c, name, "right-password"))
    with from_address(throttled) as c:
        assert login(c, name, "right-password").status_code == 200


def test_failures_age_out_of_the_window(throttled: FastAPI) -> None:
    name = fresh_user(throttled)
    with from_address(throttled) as c:
        assert [login(c, name, "wrong-password").status_code for _ in range(PER_USER)] == [401] * PER_USER
        assert_throttled(login(c, name, "right-password"))
        with throttled.state.sessionmaker() as session:  # let the window pass
            session.execute(update(LoginFailure).values(at=utcnow() - timedelta(seconds=WINDOW_S + 1)))
            session.commit()
        assert login(c, name, "right-password").status_code == 200


def test_success_clears_the_username_count_but_not_the_address_count(throttled: FastAPI) -> None:
    name = fresh_user(throttled)
    with from_address(throttled) as c:
        assert [login(c, name, "wrong-password").status_code for _ in range(2)] == [401, 401]
        assert login(c, name, "right-password").status_code == 200
        assert [login(c, name, "wrong-password").status_code for _ in range(3)] == [401, 401, 401]
        assert_throttled(login(c, name, "right-password"))  # 3 failures for the name again
        assert_throttled(login(c, "ghost", "wrong-password"))  # and 5 from this address


def test_wrong_current_passwords_count_as_failed_sign_ins(throttled: FastAPI) -> None:
    name = fresh_user(throttled)
    with from_address(throttled) as c:
        token = login(c, name, "right-password").json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        body = {"current_password": "wrong-password", "new_password": "another-password"}
        codes = [c.post("/api/v1/users/me/password", headers=auth, json=body).status_code for _ in range(PER_USER)]
        assert codes == [403] * PER_USER
        assert_throttled(c.post("/api/v1/users/me/password", headers=auth,
                                json={**body, "current_password": "right-password"}))
        assert_throttled(login(c, name, "right-password"))


@pytest.fixture
def bcrypt_checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every bcrypt verify the process runs, as the hash's ``$2b$NN$`` prefix (the real check still runs)."""
    seen: list[bytes] = []
    real = bcrypt.checkpw

    def counting_checkpw(password: bytes, hashed: bytes) -> bool:
        seen.append(hashed[:7])
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting_checkpw)
    return seen


@pytest.mark.parametrize(("who", "password", "status"), [
    ("olga", "operator-password", 200),
    ("olga", "wrong-password", 401),
    ("no-such-user", "wrong-password", 401),
    ("disabled", "right-password", 401),
])
def test_unknown_and_disabled_users_cost_one_bcrypt_verify_like_known_ones(
    client: TestClient, env: Env, bcrypt_checks: list[bytes], who: str, password: str, status: int,
) -> None:
    if who == "disabled":
        who = fresh_user(env.app)
        client.post(f"/api/v1/users/{who}/disable", headers=env.bearer("admin"))
        bcrypt_checks.clear()
    with from_address(env.app) as c:
        assert login(c, who, password).status_code == status
    assert bcrypt_checks == [b"$2b$12$"]  # one verify at the cost real hashes have


STORM = 32


def test_login_storm_does_not_hold_up_ingest(client: TestClient, env: Env) -> None:
    """32 parallel wrong sign-ins on a real uvicorn; ingest issued meanwhile is answered while they queue."""
    app = create_app(env.settings.model_copy(update={
        "login_max_failures_per_user": 1000, "login_max_failures_per_user_address": 1000,
        "login_max_failures_per_address": 1000}))
    name = fresh_user(app)
    try:
        with serve_live(app) as url, ThreadPoolExecutor(STORM) as pool:
            def wrong_login(i: int) -> int:
                return httpx.post(f"{url}/api/v1/auth/token", timeout=300,
                                  data={"username": name, "password": f"wrong-{i}"}).status_code

            logins = [pool.submit(wrong_login, i) for i in range(STORM)]
            wait(logins, return_when=FIRST_COMPLETED)  # the storm is under way
            answered_before = sum(f.done() for f in logins)
            ingest: list[Any] = []
            with httpx.Client(base_url=url, headers={"X-API-Key": env.key}, timeout=300) as http:
                for i in range(5):
                    r = http.post("/api/v1/events", json={"events": [crossing(track_id=100 + i)]})
                    ingest.append((r.status_code, r.json().get("accepted")))
            answered_during = sum(f.done() for f in logins) - answered_before
            statuses = [f.result() for f in logins]
    finally:
        app.state.engine.dispose()
    assert ingest == [(200, 1)] * 5
    assert statuses == [401] * STORM
    # ingest never waited behind the bcrypt queue: only a few logins finished while it ran
    assert answered_during <= 8, f"{answered_during} logins were answered while 5 ingest batches ran"

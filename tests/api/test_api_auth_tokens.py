"""Operator tokens: bound to the user's id and token version; sign-out, password change, disable, CLI."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from gatewatch.api.auth import create_user
from gatewatch.api.models import User
from gatewatch.cli import main as gatewatch_main
from tests.api.helpers import Env

PASSWORD = "first-password"


def new_operator(env: Env, role: str = "operator") -> str:
    """A fresh user with ``PASSWORD``; returns the name."""
    name = f"op-{uuid.uuid4().hex[:8]}"
    with env.app.state.sessionmaker() as session:
        create_user(session, name, PASSWORD, role)
    return name


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def me(client: TestClient, token: str) -> int:
    """Status of ``GET /users/me`` with ``token``."""
    return client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_token_of_a_deleted_user_does_not_open_a_new_user_of_the_same_name(client: TestClient, env: Env) -> None:
    name = new_operator(env)
    old_token = sign_in(client, name)
    with env.app.state.sessionmaker() as session:
        old_id = session.scalar(select(User.id).where(User.username == name))
        session.execute(delete(User).where(User.username == name))
        session.commit()
        new_id = create_user(session, name, "second-password").id
    assert new_id != old_id  # ids are never reused, also on SQLite
    assert me(client, old_token) == 401
    assert me(client, sign_in(client, name, "second-password")) == 200


def test_sign_out_ends_every_token_of_that_user_only(client: TestClient, env: Env) -> None:
    name = new_operator(env)
    first, second = sign_in(client, name), sign_in(client, name)
    assert me(client, first) == 200 and me(client, second) == 200
    r = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"})
    assert r.status_code == 204 and r.content == b""
    assert me(client, first) == 401 and me(client, second) == 401
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.post("/api/v1/auth/logout").status_code == 401
    assert me(client, env.operator) == 200  # other users keep their tokens
    assert me(client, sign_in(client, name)) == 200


def test_password_change_needs_the_current_password_and_ends_older_tokens(client: TestClient, env: Env) -> None:
    name = new_operator(env)
    token = sign_in(client, name)
    auth = {"Authorization": f"Bearer {token}"}
    url = "/api/v1/users/me/password"
    wrong = client.post(url, headers=auth, json={"current_password": "not-it-at-all", "new_password": "second-password"})
    assert wrong.status_code == 403 and wrong.json()["detail"] == "current password is wrong"
    assert me(client, token) == 200
    short = client.post(url, headers=auth, json={"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422
    assert client.post(url, json={"current_password": PASSWORD, "new_password": "second-password"}).status_code == 401
    ok = client.post(url, headers=auth, json={"current_password": PASSWORD, "new_password": "second-password"})
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer" and ok.json()["role"] == "operator"
    assert me(client, token) == 401
    assert me(client, ok.json()["access_token"]) == 200
    old = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert old.status_code == 401
    assert me(client, sign_in(client, name, "second-password")) == 200


def test_admin_disables_and_enables_a_user(client: TestClient, env: Env) -> None:
    name = new_operator(env)
    token = sign_in(client, name)
    admin = env.bearer("admin")
    assert client.post(f"/api/v1/users/{name}/disable", headers=env.bearer()).status_code == 403
    r = client.post(f"/api/v1/users/{name}/disable", headers=admin)
    assert r.status_code == 200 and r.json()["username"] == name and r.json()["disabled"] is True
    assert me(client, token) == 401
    refused = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["detail"] == "wrong username or password"
    r = client.post(f"/api/v1/users/{name}/enable", headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is False
    assert me(client, token) == 401  # disabling ended it for good
    assert me(client, sign_in(client, name)) == 200
    assert client.post("/api/v1/users/nobody-here/disable", headers=admin).status_code == 404
    own = client.post("/api/v1/users/admin/disable", headers=admin)
    assert own.status_code == 409 and own.json()["detail"] == "you cannot disable yourself"
    assert me(client, env.admin) == 200


def test_cli_lists_disables_enables_and_sets_passwords(client: TestClient, env: Env, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    name = new_operator(env)
    token = sign_in(client, name)
    db = ["--database-url", env.settings.database_url]
    capsys.readouterr()

    assert gatewatch_main(["users", "list", *db]) == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in capsys.readouterr().out.splitlines()}
    assert rows[name][1:3] == ["operator", "active"] and rows["admin"][1:3] == ["admin", "active"]

    assert gatewatch_main(["users", "disable", name, *db]) == 0
    assert capsys.readouterr().out == f"user {name} disabled; their tokens no longer work\n"
    assert me(client, token) == 401
    assert client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD}).status_code == 401
    assert gatewatch_main(["users", "list", *db]) == 0
    assert f"{name}\toperator\tdisabled\t" in capsys.readouterr().out

    assert gatewatch_main(["users", "enable", name, *db]) == 0
    assert capsys.readouterr().out == f"user {name} enabled\n"
    token = sign_in(client, name)

    monkeypatch.setenv("GATEWATCH_NEW_PASSWORD", "third-password")
    assert gatewatch_main(["users", "passwd", name, *db]) == 0
    assert capsys.readouterr().out == f"password of {name} changed; their tokens no longer work\n"
    assert me(client, token) == 401
    assert me(client, sign_in(client, name, "third-password")) == 200

    assert gatewatch_main(["users", "disable", "nobody-here", *db]) == 2
    assert capsys.readouterr().err == "gatewatch: error: no user 'nobody-here'\n"

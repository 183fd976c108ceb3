"""Fixtures for the sink tests: a running gate API per module, its key, a faulty proxy, a small disk."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sinks.helpers import ApiServer, FaultProxy, SmallDisk


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A running gate API, one per test module."""
    pytest.importorskip("gatewatch.api.app")
    server = ApiServer(tmp_path_factory.mktemp("api"))
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def api_key(api: ApiServer) -> str:
    return api.create_key()


@pytest.fixture
def fault_proxy(api: ApiServer) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of the module's API."""
    proxy = FaultProxy(api.url)
    yield proxy
    proxy.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A fresh ``SmallDisk`` (mounting needs root; skipped with the reason otherwise)."""
    root = tmp_path / "disk"
    root.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)

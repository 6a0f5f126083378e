"""A real redis-server for the tests: started on a free loopback port in a temporary directory,
with no persistence, and stopped afterwards.

Without a ``redis-server`` binary the tests that need one are skipped with a note on how to
get it; in CI (``CI=true``) they fail instead, so a missing install cannot pass unnoticed.
Redis's asyncio client runs only on asyncio: under trio those tests are skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sniffio

__all__ = [
    "REDIS_TIMEOUT",
    "RedisServer",
    "asyncio_only",
    "redis_server",
    "require_redis_server",
    "unique_prefix",
]

START_TIMEOUT = 10.0
REDIS_TIMEOUT = 30.0
"""The command timeout of the tests' limiters (the product's default is 2 s): a loaded machine
can take longer than 2 s for a local round trip, and a test's point is rarely that timeout
(tests of it set their own, against a Redis that never answers)."""
HOW_TO_GET_IT = (
    "redis-server is not installed: install it (Debian/Ubuntu: apt-get install redis-server; "
    "macOS: brew install redis) to run the shared rate-limiter tests"
)


def require_redis_server() -> str:
    """The path of ``redis-server``; skips the test without one (fails it in CI)."""
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{HOW_TO_GET_IT} (CI=true: a missing redis-server is a failure)")
        pytest.skip(HOW_TO_GET_IT)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; :meth:`stop` and :meth:`start` again on the
    same port, to test what happens while Redis is away."""

    def __init__(self, binary: str, directory: Path, *, debug: bool = False) -> None:
        self.binary = binary
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.debug = debug  # DEBUG SLEEP and the like (fault tests)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait (at most :data:`START_TIMEOUT`) until it answers PING."""
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
                *(["--enable-debug-command", "yes"] if self.debug else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(0.02)  # returns at once if the server exited

    def stop(self) -> None:
        """Stop the server (SIGKILL after 5 s of SIGTERM) and wait for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server shared by the tests of a session (each test uses its own key prefix)."""
    server = RedisServer(require_redis_server(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone (for tests that stop it)."""
    server = RedisServer(require_redis_server(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def asyncio_only() -> None:
    """Skip under trio: redis-py's asyncio client needs asyncio."""
    if sniffio.current_async_library() != "asyncio":
        pytest.skip("redis.asyncio runs only on asyncio")


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test:{uuid.uuid4().hex[:12]}"

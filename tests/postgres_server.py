"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` into a temporary directory,
listening on a free loopback port (TCP only, password authentication), stopped afterwards.

The binaries are found on ``PATH`` or in Debian's ``/usr/lib/postgresql/<version>/bin``.
Without them the tests that need a server are skipped with a note on how to get one; in CI
(``CI=true``) they fail instead. As root, the server runs as the ``postgres`` user (PostgreSQL
refuses to run as root), its directory owned by that user. Each test uses its own state name
(:func:`unique_name`) or, to change the schema itself, its own schema.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

__all__ = [
    "PASSWORD",
    "PostgresServer",
    "postgres_server",
    "require_postgres",
    "unique_name",
]

PASSWORD = "pg-test-secret-7f3a"
"""The superuser's password (a test value: the tests check it never shows)."""
USER = "postgres"
START_TIMEOUT = 60.0
HOW_TO_GET_IT = (
    "PostgreSQL is not installed: install it (Debian/Ubuntu: apt-get install postgresql; "
    "macOS: brew install postgresql) to run the PostgreSQL state tests"
)


def _bin_dir() -> str | None:
    found = shutil.which("pg_ctl")
    if found is not None:
        return os.path.dirname(found)
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0,
    )
    return os.path.dirname(versions[-1]) if versions else None


def require_postgres() -> str:
    """The directory of ``initdb`` and ``pg_ctl``; skips the test without them (fails it in
    CI), and also without the ``postgres`` extra's driver."""
    pytest.importorskip("asyncpg", reason="the postgres extra is not installed")
    found = _bin_dir()
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{HOW_TO_GET_IT} (CI=true: a missing PostgreSQL is a failure)")
        pytest.skip(HOW_TO_GET_IT)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server on 127.0.0.1 in a temporary directory of its own."""

    def __init__(self, bin_dir: str, *, durable: bool = False) -> None:
        self.bin_dir = bin_dir
        self.durable = durable
        self.port = 0
        self.root = Path(tempfile.mkdtemp(prefix="pleasurestock-pg-"))
        self.data = self.root / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL never runs as root: as its own user
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres", *, password: str = PASSWORD, **query: str) -> str:
        """``postgresql://postgres:<password>@127.0.0.1:<port>/<database>?<query>``."""
        tail = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return (
            f"postgresql://{USER}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"
            + (f"?{tail}" if tail else "")
        )

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=START_TIMEOUT, check=False
        )

    def start(self) -> None:
        """initdb (once), then start on a free port; a port taken meanwhile is tried again."""
        if not (self.data / "PG_VERSION").exists():
            pwfile = self.root / "pw"
            pwfile.write_text(PASSWORD + "\n")
            if self._as:
                os.chown(pwfile, *(pwd.getpwnam("postgres")[2:4]))
            done = self._run(
                f"{self.bin_dir}/initdb",
                "-D",
                str(self.data),
                "-U",
                USER,
                "--pwfile",
                str(pwfile),
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            pwfile.unlink()
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        for _ in range(5):
            self.port = _free_port()
            settings = [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                "-c unix_socket_directories=''",
                "-c max_connections=100",
                "-c shared_buffers=32MB",
            ]
            if not self.durable:  # a test server: nothing survives it anyway
                settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            done = self._run(
                f"{self.bin_dir}/pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
                "-o",
                " ".join(settings),
                "start",
            )
            if done.returncode == 0:
                return
        raise RuntimeError(f"PostgreSQL did not start: {self.log()[-2000:]}")

    def log(self) -> str:
        """The server's log so far."""
        try:
            return (self.root / "log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as a crash would)."""
        self._run(f"{self.bin_dir}/pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server and delete its directory."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running(*, durable: bool = False) -> Iterator[PostgresServer]:
    """A server for the block (benchmarks; tests use the fixture)."""
    found = _bin_dir()
    if found is None:
        raise RuntimeError(HOW_TO_GET_IT)
    server = PostgresServer(found, durable=durable)
    try:
        server.start()
        yield server
    finally:
        server.remove()


def _wait_ready(server: PostgresServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server shared by the tests of a session (each uses its own state name)."""
    server = PostgresServer(require_postgres())
    try:
        server.start()
        _wait_ready(server)
        yield server
    finally:
        server.remove()


def unique_name(prefix: str = "t") -> str:
    """A state or schema name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"

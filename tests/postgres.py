"""A real, throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` on a free loopback port.

Debian's ``postgresql`` package (``.ci/run`` installs it when missing) puts the server binaries in
``/usr/lib/postgresql/<major>/bin``, off the PATH; :func:`pg_bindir` finds them. PostgreSQL refuses
to run as root, so when the tests run as root the cluster belongs to the ``postgres`` user the
package creates, and ``initdb``/``pg_ctl`` run through ``runuser``.

The cluster authenticates with a password (scram-sha-256) over TCP, so the tests see what a
real deployment sees: a wrong password is refused, and a message naming the URL must not leak it.

    with run_postgres(tmp_path) as pg:
        url = pg.url("studio")          # postgresql+psycopg2://studio:<pw>@127.0.0.1:<port>/studio
        ...
        pg.kill()                      # the whole server, for crash tests

The session fixture ``postgres`` in tests/conftest.py starts one server per test process;
``pg_database`` gives each test a fresh database on it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

__all__ = ["PostgresServer", "pg_bindir", "run_postgres"]


def pg_bindir() -> Path | None:
    """The folder holding ``initdb``/``pg_ctl`` (newest major version), or None when not installed."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _as_owner(argv: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    datadir: Path
    bindir: Path

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """SQLAlchemy URL of ``database`` (the driver Optuna and MLflow use: psycopg2)."""
        pw = self.password if password is None else password
        return f"postgresql+psycopg2://{self.user}:{pw}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]),
                       capture_output=True, timeout=60, check=False)

    def kill(self) -> None:
        """Stop the server abruptly (``-m immediate``: like a crash, no clean shutdown)."""
        self.stop("immediate")


@contextlib.contextmanager
def run_postgres(root: Path, *, user: str = "studio") -> Iterator[PostgresServer]:
    """Start a password-protected PostgreSQL cluster under ``root``; stop and remove it afterwards.

    As root, the cluster goes to a private folder under the system temp folder instead (see below).
    """
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    if os.geteuid() == 0:
        # The postgres user must reach its files, and pytest keeps its temp folders private (0700) – and
        # tightens them again whenever another pytest session (an xdist worker) starts. So as root the
        # cluster lives in a folder of its own directly under the system temp folder (1777).
        root = Path(tempfile.mkdtemp(prefix="automlops-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    pwfile, datadir, sockets = root / "pw", root / "data", root / "sock"
    pwfile.write_text(password + "\n")
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:  # the postgres user owns its files
        owner = pwd.getpwnam("postgres")
        for path in (root, pwfile, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(datadir), "-U", user, f"--pwfile={pwfile}",
                              "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"]),
                   capture_output=True, text=True, timeout=120, check=True)
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    started = subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options,
                                        "-l", str(root / "server.log"), "-w", "-t", "60", "start"]),
                             capture_output=True, text=True, timeout=90, check=False)
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log[-2000:]}")
    server = PostgresServer("127.0.0.1", port, user, password, datadir, bindir)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PostgresServer, timeout: float = 30.0) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg2.connect(host=server.host, port=server.port, user=server.user, password=server.password,
                             dbname="postgres", connect_timeout=2).close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

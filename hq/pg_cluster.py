"""A throwaway PostgreSQL cluster on a private Unix socket: for the tests, bench/sync.py and trying hq locally.

It uses Debian's server binaries (`postgresql-15`, which `make test` installs) straight
from /usr/lib/postgresql, not the system's service: nothing listens on TCP and nothing
outlives `stop()`. PostgreSQL refuses to run as root, so as root the cluster belongs to
the `postgres` user the Debian package creates.

    python -m hq.pg_cluster /tmp/hqpg     # starts one and prints its --db URL; Ctrl-C stops it
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from appliance.errors import ConfigError

PORT = 5432  # only names the socket file inside our own directory: no clash with a real server


def server_bin() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise ConfigError("no PostgreSQL server installed: apt-get install postgresql-15 (make test does)",
                          where="/usr/lib/postgresql")  # fmt: skip
    return found[-1].parent


class Cluster:
    """initdb + pg_ctl in `root`; `durable=False` turns fsync off (tests), benches keep it on."""

    def __init__(self, root: Path | None = None, *, durable: bool = False):
        # Not under pytest's tmp_path: its parents are root-only and the postgres user must
        # reach the socket directory.
        self.root = Path(root or tempfile.mkdtemp(prefix="hq-pg-"))
        self.data, self.socket_dir = self.root / "data", self.root / "run"
        self.durable = durable
        self.bin = server_bin()
        self._as = self._user()

    @staticmethod
    def _user() -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ConfigError("running as root needs the postgres user (created by the postgresql-15 package)",
                              where="postgres") from None  # fmt: skip
        return ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise ConfigError(f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()[-800:]}",
                              where=str(self.root))  # fmt: skip

    @property
    def dsn(self) -> str:
        return f"host={self.socket_dir} port={PORT} user=postgres dbname=postgres"

    def start(self) -> str:
        """Create the cluster on first use, start it, and return its libpq connection string."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        os.chmod(self.root, 0o755)
        if self._as:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8")  # fmt: skip
        options = f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip
        return self.dsn

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def new_database(self, name: str) -> str:
        """A fresh, empty database in this cluster (one per test keeps tests apart); its DSN."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn.replace("dbname=postgres", f"dbname={name}")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> int:
    cluster = Cluster(Path(sys.argv[1]) if len(sys.argv) > 1 else None, durable=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    print(f"--db '{cluster.start()}'", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A local PostgreSQL cluster in the project's data directory, run as the `postgres` user.

Run as root, initdb and the server run as `postgres`, which must be able to enter every directory
above the cluster. A data directory under a private one (a `mktemp -d`, mode 0700, or a home
directory) is out of its reach, so the cluster is then kept in the `postgres` user's own home
(``~postgres/ledger/<hash of the data directory><random>``), and ``<data_dir>/postgres-home`` says where;
the data directory's permissions are never loosened.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

from ledger.errors import ServiceError
from ledger.local_secrets import write_private
from ledger.localdev.process import alive, tail
from ledger.store.server import ensure_database, wait_accepting

POSTGRES_MAJOR = 15  # the version docker-compose.yml pins; local binaries of any 13+ work
ADMIN_ROLE = "ledger_admin"
DATABASE = "ledger"


def bindir() -> Path:
    """Debian keeps the server binaries in a versioned directory, off PATH."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [
        Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    ]
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise ServiceError(
        "No PostgreSQL server binaries (initdb, pg_ctl) were found. Install them with "
        "`apt-get install postgresql` or run scripts/bootstrap.sh."
    )


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to the postgres system user.
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError(
            "Running as root needs a `postgres` system user (apt-get install postgresql)."
        ) from exc
    return ["runuser", "-u", "postgres", "--", *argv]


def _chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _postgres_can_enter(path: Path) -> bool:
    """Whether the `postgres` user can reach and write ``path`` (every directory above it)."""
    if os.geteuid() != 0:
        return True  # the server runs as the caller, who made the directory
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-w", str(path), "-a", "-x", str(path)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


class LocalPostgres:
    """Files under ``<data_dir>/postgres`` (or where ``<data_dir>/postgres-home`` points): data/,
    server.log; the admin password stays in the data directory (root only)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.pointer = data_dir / "postgres-home"
        home = self.pointer.read_text().strip() if self.pointer.exists() else ""
        self._place(Path(home) if home else data_dir / "postgres")
        self.port = port
        self.password_file = data_dir / "postgres-admin.password"

    def _place(self, home: Path) -> None:
        self.home = home
        self.data = home / "data"
        self.log_file = home / "server.log"

    def _reachable_home(self) -> None:
        """Moves the cluster into the `postgres` user's home when it cannot enter ours."""
        self.home.mkdir(parents=True, exist_ok=True)
        _chown_postgres(self.home)
        if _postgres_can_enter(self.home):
            return
        with contextlib.suppress(OSError):
            self.home.rmdir()  # empty: nothing could be written there
        # Unique per initdb: a data directory removed and made again never meets its old cluster.
        tag = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12] + secrets.token_hex(4)
        moved = Path(pwd.getpwnam("postgres").pw_dir) / "ledger" / tag
        moved.mkdir(parents=True, exist_ok=True)
        for made in (moved.parent, moved):
            _chown_postgres(made)
        if not _postgres_can_enter(moved):
            raise ServiceError(
                f"PostgreSQL's `postgres` user cannot enter {self.data_dir} nor its own home: "
                "set LEDGER_DATA_DIR to a directory every user can traverse (e.g. under /srv)."
            )
        (moved / "ledger-data-dir").write_text(f"{self.data_dir}\n")
        self.pointer.write_text(f"{moved}\n")
        self._place(moved)

    @property
    def url(self) -> str:
        return f"postgresql://{ADMIN_ROLE}:{self.password()}@127.0.0.1:{self.port}/{DATABASE}"

    def password(self) -> str:
        if not self.password_file.exists():
            write_private(self.password_file, secrets.token_urlsafe(24), "password")
        return self.password_file.read_text().strip()

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        return alive(self.pid())

    def _run(self, argv: list[str], what: str) -> None:
        result = subprocess.run(_as_postgres(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(
                f"{what} failed:\n{result.stdout}{result.stderr}\nLog tail:\n{tail(self.log_file)}"
            )

    def init(self) -> None:
        bins = bindir()
        self._reachable_home()
        os.chmod(self.home, 0o700)
        _chown_postgres(self.home)
        pwfile = self.home / "initdb.pw"
        pwfile.write_text(self.password() + "\n")
        os.chmod(pwfile, 0o600)
        _chown_postgres(pwfile)
        try:
            self._run(
                [
                    str(bins / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    ADMIN_ROLE,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# ledger up\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.data}'\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "logging_collector = off\n"
            )

    def start(self, timeout: float = 60) -> None:
        if self.running():
            self.wait_ready(timeout)
            return
        if not (self.data / "PG_VERSION").exists():
            self.init()
        if not self.log_file.exists():
            self.log_file.touch()
            _chown_postgres(self.log_file)
        bins = bindir()
        self._run(
            [
                str(bins / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {self.port}",
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            "Starting PostgreSQL",
        )
        self.wait_ready(timeout)
        self._ensure_database()

    def wait_ready(self, timeout: float) -> None:
        last = wait_accepting(self.server_url, timeout)
        if last is not None:
            raise ServiceError(
                f"PostgreSQL did not accept connections in {timeout:.0f} s: {last}\n{tail(self.log_file)}"
            )

    def _ensure_database(self) -> None:
        ensure_database(self.server_url, DATABASE)

    @property
    def server_url(self) -> str:
        """The maintenance database's URL: it exists before ours does."""
        return self.url.rsplit("/", 1)[0] + "/postgres"

    def stop(self) -> None:
        if not (self.data / "PG_VERSION").exists() or not self.running():
            return
        self._run(
            [
                str(bindir() / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
            "Stopping PostgreSQL",
        )

    def restart_immediately(self, timeout: float = 60) -> None:
        """`pg_ctl restart -m immediate`: a crash and recovery, as a fault test needs."""
        self._run(
            [
                str(bindir() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-m",
                "immediate",
                "-w",
                "-t",
                str(int(timeout)),
                "restart",
            ],
            "Restarting PostgreSQL",
        )
        self.wait_ready(timeout)

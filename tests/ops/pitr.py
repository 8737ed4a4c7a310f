"""A PostgreSQL cluster that archives its WAL with pgBackRest, configured by the
project's own deploy/pgbackrest/pgbackrest.conf with only its paths pointed at the
throwaway cluster, and the pgBackRest commands run against it (as the cluster's user).

Used by the point-in-time recovery drill (test_point_in_time_recovery.py) and the
backup figures' test (test_backup_figures.py).
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import psycopg

from tests.harness.services import PostgresCluster, find_postgres_bindir, native_timescaledb
from tests.support import REPO

CONFIG = REPO / "deploy" / "pgbackrest" / "pgbackrest.conf"
CRONTAB = REPO / "deploy" / "pgbackrest" / "crontab"
STANZA = "backoffice"


def scheduled_backups() -> dict[str, list[str]]:
    """The backup commands of the project's crontab, by type (full, diff)."""
    commands = {}
    for line in CRONTAB.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        words = shlex.split(line)[5:]  # after minute hour day month weekday
        kind = next(w.split("=", 1)[1] for w in words if w.startswith("--type="))
        commands[kind] = words
    return commands


class ArchivingCluster(PostgresCluster):
    """A throwaway cluster whose archive_command is pgBackRest's archive-push."""

    def __init__(self, *, timescale: bool | None = None):
        bindir = find_postgres_bindir()
        if timescale is None:
            timescale = native_timescaledb(bindir)
        super().__init__(bindir, name="backoffice", timescale=timescale)
        self.repo = self.base / "repo"
        self.config = self.base / "pgbackrest.conf"

    def write_config(self) -> None:
        """The project's pgbackrest.conf with this cluster's paths, port and user."""
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str
        parser.read(CONFIG)
        assert parser.has_section(STANZA), f"{CONFIG} has no [{STANZA}] stanza"
        work = {"repo1-path": self.repo}
        for name in ("lock", "spool", "log"):
            work[f"{name}-path"] = self.base / f"pgbackrest-{name}"
        for key, path in work.items():
            parser["global"][key] = str(path)
            path.mkdir(mode=0o700)
        parser[STANZA].update(
            {
                "pg1-path": str(self.datadir),
                "pg1-socket-path": str(self.base),
                "pg1-port": str(self.port),
                "pg1-user": "postgres",
                "pg1-database": self.name,
            }
        )
        with self.config.open("w") as handle:
            parser.write(handle)
        if self._as_postgres:
            for path in (self.config, *work.values()):
                shutil.chown(path, "postgres", "postgres")

    def init(self) -> ArchivingCluster:
        super().init()
        self.write_config()
        archive = f"pgbackrest --config={self.config} --stanza={STANZA} archive-push %p"
        with (self.datadir / "postgresql.conf").open("a") as handle:
            handle.write(f"\narchive_mode = on\narchive_command = '{archive}'\n")
        return self

    def pgbackrest(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """pgbackrest with this cluster's configuration; fails loudly."""
        result = self._run(
            "pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *args, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(
                f"pgbackrest {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.log_tail()}"
            )
        return result

    def scheduled_backup(self, kind: str) -> None:
        """Run the crontab's backup command of ``kind`` against this cluster."""
        command = scheduled_backups()[kind]
        assert command[0] == "pgbackrest" and f"--stanza={STANZA}" in command, command
        self.pgbackrest(*(word for word in command[1:] if not word.startswith("--stanza=")))

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def wipe(self) -> None:
        """Stop the server at once (a crash) and delete its data directory."""
        self.stop("immediate")
        shutil.rmtree(self.datadir)
        assert not Path(self.datadir).exists()

    def restore(self, *target: str) -> None:
        """Restore the data directory from the repository to ``target`` (pgbackrest
        restore options), start the server and wait until recovery has promoted it."""
        self.datadir.mkdir(mode=0o700)
        if self._as_postgres:
            shutil.chown(self.datadir, "postgres", "postgres")
        self.pgbackrest(*target, "--target-action=promote", "restore")
        self.start()
        with self.connect() as conn:
            for _ in range(600):
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return
                conn.execute("SELECT pg_sleep(0.1)")
        raise AssertionError(f"recovery did not finish:\n{self.log_tail()}")

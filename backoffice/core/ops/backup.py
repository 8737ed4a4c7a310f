"""Backup and restore: the database with pg_dump / pg_restore, the model artifacts as a
tar archive, both in one directory with a manifest.

TimescaleDB's rules (where the extension is installed): the dump is taken as usual;
the restore runs ``timescaledb_pre_restore()`` before pg_restore and
``timescaledb_post_restore()`` after it, into a database where the extension exists
at the same version. The database password goes to the tools through PGPASSWORD in
their environment, never on a command line or in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

DUMP_NAME = "database.dump"
ARTIFACTS_NAME = "model-artifacts.tar.gz"
MANIFEST_NAME = "manifest.json"


class BackupError(Exception):
    """A backup or restore step failed; the message names the step."""


@dataclass(frozen=True)
class Target:
    host: str
    port: str
    user: str
    name: str
    password: str

    @classmethod
    def from_settings(cls, name: str | None = None) -> Target:
        db = settings.DATABASES["default"]
        if "postgresql" not in db["ENGINE"]:
            raise BackupError("backups need PostgreSQL (DATABASE_URL); SQLite is for make run")
        return cls(
            host=db.get("HOST") or "localhost",
            port=str(db.get("PORT") or 5432),
            user=db.get("USER") or "postgres",
            name=name or db["NAME"],
            password=db.get("PASSWORD") or "",
        )

    def args(self) -> list[str]:
        return ["-h", self.host, "-p", self.port, "-U", self.user, "-d", self.name]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "10"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return path


def _run(step: str, command: list[str], target: Target) -> None:
    result = subprocess.run(command, env=target.env(), capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise BackupError(f"{step} failed: {' | '.join(detail)}")


def _psql(target: Target, sql: str, step: str) -> None:
    _run(step, [_tool("psql"), *target.args(), "-v", "ON_ERROR_STOP=1", "-c", sql], target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(directory: Path) -> dict:
    """Dump the database and archive the model artifacts into ``directory``."""
    target = Target.from_settings()
    directory.mkdir(parents=True, exist_ok=False)
    dump = directory / DUMP_NAME
    _run(
        "pg_dump", [_tool("pg_dump"), *target.args(), "-Fc", "--no-owner", "-f", str(dump)], target
    )
    artifacts = directory / ARTIFACTS_NAME
    models = Path(settings.MODEL_STORAGE_DIR)
    with tarfile.open(artifacts, "w:gz") as archive:
        if models.exists():
            archive.add(models, arcname="models")
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": target.name,
        "timescaledb": _timescale_version(),
        "files": {
            p.name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for p in (dump, artifacts)
        },
    }
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return manifest


def _timescale_version() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        row = cursor.fetchone()
    return row[0] if row else None


def verify(directory: Path) -> dict:
    """The manifest, after checking every file against its recorded hash."""
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.exists():
        raise BackupError(f"{directory} holds no {MANIFEST_NAME}: not a backup")
    manifest = json.loads(manifest_path.read_text())
    for name, facts in manifest["files"].items():
        path = directory / name
        if not path.exists() or _sha256(path) != facts["sha256"]:
            raise BackupError(f"{name} is missing or does not match its recorded sha256")
    return manifest


def create_database(database: str) -> None:
    """Create ``database`` on the configured server; refuse one that already exists."""
    admin = Target.from_settings(name="postgres")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if cursor.fetchone():
            raise BackupError(f"database {database!r} exists already: restore into a new one")
    quoted = '"' + database.replace('"', '""') + '"'
    _psql(admin, f"CREATE DATABASE {quoted}", "create database")


def restore(directory: Path, *, database: str, models_dir: Path) -> dict:
    """Restore a backup into a new database ``database`` and ``models_dir``."""
    manifest = verify(directory)
    create_database(database)
    target = Target.from_settings(name=database)
    timescale = manifest.get("timescaledb")
    if timescale:
        _psql(target, "CREATE EXTENSION IF NOT EXISTS timescaledb", "create extension")
        _psql(target, "SELECT timescaledb_pre_restore()", "timescaledb_pre_restore")
    try:
        _run(
            "pg_restore",
            [
                _tool("pg_restore"),
                *target.args(),
                "--no-owner",
                "--exit-on-error",
                str(directory / DUMP_NAME),
            ],
            target,
        )
    finally:
        if timescale:
            _psql(target, "SELECT timescaledb_post_restore()", "timescaledb_post_restore")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(directory / ARTIFACTS_NAME, "r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("models")]
        for member in members:
            member.name = member.name.removeprefix("models").lstrip("/") or "."
        archive.extractall(models_dir, members=members, filter="data")
    return manifest

"""The durable trade spool: JSON lines on local disk while the database is down.

No Django import here. Layout of the spool directory:

    active-<host>-<pid>-<id>.jsonl  appended to by one writer, under an flock
    sealed-<stamp>-<n>.jsonl        taken by a replay; nothing appends to it any more
    rejected/                       lines a replay could not read, with the reason

Durability: a batch is written in one ``write`` call, flushed and fsynced (and the
directory fsynced when the file is new) before ``append`` returns, so a caller told
"spooled" can lose the machine's power and still find its trades here.

Concurrency: a writer holds the file's flock while it appends and, under the lock,
checks that its path still names its file. A replay seals a file by renaming it under
the same lock, so no line can land in a file after it was sealed: the writer sees the
rename and starts a new active file.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACTIVE_PREFIX = "active-"
SEALED_PREFIX = "sealed-"
SUFFIX = ".jsonl"


class SpoolError(OSError):
    """The spool cannot be written (disk full, read-only, permissions)."""


@dataclass(frozen=True)
class SpooledLine:
    path: Path
    line_number: int
    entry: dict[str, Any] | None  # None when the line could not be read
    error: str | None = None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """One spool directory. Thread-safe; safe across processes sharing the directory."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._file = None
        self._path: Path | None = None

    # -- writing ----------------------------------------------------------------
    def append(self, records: list[dict[str, Any]]) -> int:
        """Append records as one durable batch; returns how many were written."""
        if not records:
            return 0
        batch = uuid.uuid4().hex
        stamp = time.time()
        payload = "".join(
            json.dumps({"batch": batch, "spooled_at": stamp, "trade": record}, default=str) + "\n"
            for record in records
        ).encode()
        with self._lock:
            try:
                handle = self._writable_file()
                self._write_whole(handle.fileno(), payload)
            except OSError as exc:
                self._close()
                raise SpoolError(
                    exc.errno, f"cannot write the trade spool: {exc.strerror}"
                ) from exc
            finally:
                if self._file is not None:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        return len(records)

    @staticmethod
    def _write_whole(fd: int, payload: bytes) -> None:
        """Write and fsync all of ``payload``, or leave the file as it was.

        A nearly full disk takes part of a write and then fails: the partial batch is
        cut off again, so no caller is told "spooled" about a torn batch and no torn
        line waits for a replay. (Under the flock nobody else appends meanwhile.)
        """
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                pass
            raise

    def _writable_file(self):
        """The active file, locked, and still under its own name (not sealed)."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            try:
                same = os.stat(self._path).st_ino == os.fstat(self._file.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return self._file
            # A replay sealed it between two appends: start a new file.
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._close()
        self._open_new_locked()
        return self._file

    def _open_new_locked(self) -> None:
        """A new active file, locked before its name appears, so no replay can seal it
        before this writer has appended to it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Unique even for two writers in one process: rename would replace a namesake.
        name = f"{ACTIVE_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}{SUFFIX}"
        hidden = self.directory / f".new-{uuid.uuid4().hex}.tmp"
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._path = self.directory / name
        os.rename(hidden, self._path)
        self._file = os.fdopen(fd, "ab", buffering=0)
        _fsync_dir(self.directory)  # the new name survives a crash too

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
        self._file = None
        self._path = None

    # -- replaying ----------------------------------------------------------------
    def seal(self) -> list[Path]:
        """Take every active file for replay (rename under its lock); returns sealed files.

        Files sealed by an earlier, interrupted replay are returned too, oldest first.
        """
        if not self.directory.exists():
            return []
        for path in sorted(self.directory.glob(f"{ACTIVE_PREFIX}*{SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if path.exists() and os.stat(path).st_ino == os.fstat(fd).st_ino:
                    sealed = path.with_name(
                        f"{SEALED_PREFIX}{time.time_ns()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
                    )
                    os.rename(path, sealed)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        _fsync_dir(self.directory)
        return sorted(self.directory.glob(f"{SEALED_PREFIX}*{SUFFIX}"))

    @staticmethod
    def read(path: Path) -> Iterator[SpooledLine]:
        """Every line of a sealed file; unreadable lines come with their error."""
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                    if not isinstance(entry, dict) or not isinstance(entry.get("trade"), dict):
                        raise ValueError("not a spool entry")
                except (ValueError, UnicodeDecodeError) as exc:
                    # A torn last line: its writer never heard "spooled".
                    yield SpooledLine(path, number, None, f"unreadable line: {exc}")
                    continue
                yield SpooledLine(path, number, entry)

    def reject(self, line: SpooledLine, reason: str) -> None:
        """Keep a line that cannot be replayed, with the reason, for a person to look at."""
        rejected = self.directory / "rejected"
        rejected.mkdir(exist_ok=True)
        target = rejected / f"{line.path.stem}.rejected.jsonl"
        record = {"source": line.path.name, "line": line.line_number, "reason": reason}
        if line.entry is not None:
            record["entry"] = line.entry
        with target.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    @staticmethod
    def remove(path: Path) -> None:
        """Delete a sealed file once everything in it is committed."""
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def backlog(self) -> dict[str, int]:
        """Lines and files waiting for a replay."""
        lines = files = 0
        if self.directory.exists():
            for path in self.directory.glob(f"*{SUFFIX}"):
                if path.name.startswith((ACTIVE_PREFIX, SEALED_PREFIX)):
                    files += 1
                    try:
                        with path.open("rb") as handle:
                            lines += sum(1 for line in handle if line.strip())
                    except FileNotFoundError:
                        continue
        return {"trades": lines, "files": files}

    def rejected_count(self) -> int:
        rejected = self.directory / "rejected"
        if not rejected.exists():
            return 0
        return sum(
            1 for path in rejected.glob("*.jsonl") for line in path.open("rb") if line.strip()
        )

"""The durable trade spool: JSON lines on local disk while the database is down.

No Django import here. Layout of the spool directory:

    active-<host>-<pid>-<id>.jsonl  appended to by one writer, under an flock
    sealed-<stamp>-<n>.jsonl        taken by a replay; nothing appends to it any more
    quarantine/<sealed>-<line>.jsonl         a line a replay could not store: its exact
    quarantine/<sealed>-<line>.reason.json   bytes (mode 0600), and why, with where from

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

import orjson

ACTIVE_PREFIX = "active-"
SEALED_PREFIX = "sealed-"
SUFFIX = ".jsonl"


class SpoolError(OSError):
    """The spool cannot be written (disk full, read-only, permissions)."""


@dataclass(frozen=True)
class SpooledLine:
    path: Path
    line_number: int
    raw: bytes  # the line's exact bytes, its newline included
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
        # (time, reason) of the last failed append, cleared by the next good one.
        self.last_error: tuple[float, str] | None = None

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
                self._discard_if_empty()
                self._close()
                self.last_error = (time.time(), exc.strerror or str(exc))
                raise SpoolError(
                    exc.errno, f"cannot write the trade spool: {exc.strerror}"
                ) from exc
            finally:
                if self._file is not None:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self.last_error = None
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

    def _discard_if_empty(self) -> None:
        """Remove the active file when nothing was ever written to it (a full disk
        refused its first batch), so that refused requests leave no empty files."""
        if self._file is None or self._path is None:
            return
        try:
            if os.fstat(self._file.fileno()).st_size == 0:
                os.unlink(self._path)
        except OSError:
            pass

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
                    entry = _loads(raw)
                    if not isinstance(entry, dict) or not isinstance(entry.get("trade"), dict):
                        raise ValueError("not a spool entry")
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                    # A torn last line (its writer never heard "spooled"), or bytes
                    # changed on disk.
                    reason = f"unreadable line: {type(exc).__name__}: {str(exc)[:200]}"
                    yield SpooledLine(path, number, raw, None, reason)
                    continue
                yield SpooledLine(path, number, raw, entry)

    @property
    def quarantine_dir(self) -> Path:
        return self.directory / "quarantine"

    def quarantine(self, line: SpooledLine, reason: str) -> Path:
        """Keep a line that cannot be stored: its exact bytes (mode 0600) and, beside
        them, the reason and where it came from. Durable (fsynced) before it returns, so
        the sealed file it came from may then be removed. Idempotent: a replay that
        runs again after a crash writes the same file again."""
        directory = self.quarantine_dir
        directory.mkdir(mode=0o700, exist_ok=True)
        name = f"{line.path.stem}-{line.line_number:07d}"
        target = directory / f"{name}{SUFFIX}"
        _write_durably(target, line.raw)
        about = {
            "source": line.path.name,
            "line": line.line_number,
            "reason": reason,
            "quarantined_at": time.time(),
            "bytes": len(line.raw),
        }
        _write_durably(directory / f"{name}.reason.json", json.dumps(about).encode())
        _fsync_dir(directory)
        return target

    def archive_quarantined(self, source: str, line_number: int) -> bool:
        """Move a decided line's files into quarantine/decided/ (kept, no longer counted
        as waiting); False when they are not on this host's disk."""
        name = f"{Path(source).stem}-{line_number:07d}"
        decided = self.quarantine_dir / "decided"
        moved = False
        for path in (
            self.quarantine_dir / f"{name}{SUFFIX}",
            self.quarantine_dir / f"{name}.reason.json",
        ):
            if path.exists():
                decided.mkdir(mode=0o700, exist_ok=True)
                os.rename(path, decided / path.name)
                moved = True
        if moved:
            _fsync_dir(self.quarantine_dir)
        return moved

    def quarantined(self) -> list[Path]:
        """The quarantined lines' files, oldest first."""
        if not self.quarantine_dir.exists():
            return []
        return sorted(
            path
            for path in self.quarantine_dir.glob(f"*{SUFFIX}")
            if not path.name.endswith(".reason.json")
        )

    @staticmethod
    def remove(path: Path) -> None:
        """Delete a sealed file once everything in it is committed."""
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def backlog(self) -> dict[str, Any]:
        """Lines and files waiting for a replay, and when the oldest was spooled (epoch
        seconds, None when nothing waits)."""
        lines = files = 0
        oldest: float | None = None
        if self.directory.exists():
            for path in self.directory.glob(f"*{SUFFIX}"):
                if path.name.startswith((ACTIVE_PREFIX, SEALED_PREFIX)):
                    files += 1
                    try:
                        with path.open("rb") as handle:
                            first = _spooled_at(handle.readline())
                            handle.seek(0)
                            lines += sum(1 for line in handle if line.strip())
                    except FileNotFoundError:
                        continue
                    if first is not None and (oldest is None or first < oldest):
                        oldest = first
        return {"trades": lines, "files": files, "oldest_spooled_at": oldest if lines else None}

    def has_backlog(self) -> bool:
        """True when an active or sealed file holds anything (cheap: sizes only)."""
        if not self.directory.exists():
            return False
        for path in self.directory.glob(f"*{SUFFIX}"):
            if path.name.startswith((ACTIVE_PREFIX, SEALED_PREFIX)):
                try:
                    if path.stat().st_size:
                        return True
                except FileNotFoundError:
                    continue
        return False

    def writable(self) -> None:
        """SpoolError unless a small file can be written and synced here now (a full or
        read-only disk fails this before a trade has to)."""
        probe = self.directory / f".probe-{uuid.uuid4().hex}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_durably(probe, b"x" * 4096)
        except OSError as exc:
            raise SpoolError(
                exc.errno, f"cannot write the trade spool: {exc.strerror or exc}"
            ) from exc
        finally:
            probe.unlink(missing_ok=True)


def _loads(raw: bytes):
    """orjson for speed (a replay reads every line); what it refuses (NaN, a lone
    surrogate, a huge integer, malformed JSON) goes through json, whose answer or
    error message is the one to keep."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _spooled_at(line: bytes) -> float | None:
    try:
        stamp = json.loads(line).get("spooled_at")
    except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
        return None
    return float(stamp) if isinstance(stamp, int | float) else None


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` as the whole file at ``path`` (mode 0600) and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)

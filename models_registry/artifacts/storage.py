"""Content-addressed artifact storage under MODEL_STORAGE_DIR.

An artifact lives at ``artifacts/<sha256[:2]>/<sha256>.<ext>``, relative to the storage
root. It is written to a temporary file in the same directory, fsynced and renamed into
place, so a crash never leaves a half-written file under a real name. Reading always
checks the recorded size and SHA-256 and hands back the verified bytes: the loader parses
exactly what was checked, with no window in which the file could change in between.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CHUNK = 1024 * 1024
ARTIFACTS_DIR = "artifacts"


class ArtifactError(Exception):
    """An artifact cannot be stored or read back intact; the message says why."""


@dataclass(frozen=True)
class StoredArtifact:
    path: str  # relative to the storage root
    sha256: str
    size: int


def storage_root() -> Path:
    """The resolved MODEL_STORAGE_DIR (read at call time: tests point it elsewhere)."""
    return Path(settings.MODEL_STORAGE_DIR).expanduser().resolve()


def relative_path(sha256: str, extension: str) -> str:
    return f"{ARTIFACTS_DIR}/{sha256[:2]}/{sha256}{extension}"


def resolve(path: str) -> Path:
    """The absolute path of a stored artifact; anything outside the root is refused.

    Recorded paths are written by this module only, but the check stands between a
    tampered row (``../../etc/x``, an absolute path, a symlink out) and joblib, which
    executes what it loads.
    """
    root = storage_root()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root):
        raise ArtifactError(f"artifact path {path!r} is outside the artifact root; refused")
    return candidate


def store_chunks(chunks: Iterable[bytes], *, extension: str) -> StoredArtifact:
    """Write ``chunks`` atomically under their content hash and return where they went.

    The same bytes stored twice share one file.
    """
    root = storage_root()
    incoming = root / ARTIFACTS_DIR / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=incoming, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise ArtifactError("the model file is empty")
        sha256 = digest.hexdigest()
        relative = relative_path(sha256, extension)
        final = root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists() and file_sha256(final) == sha256:
            tmp.unlink()
        else:
            # Same file system (both under the root), so the rename is atomic.
            os.replace(tmp, final)
            _fsync_directory(final.parent)
        return StoredArtifact(path=relative, sha256=sha256, size=size)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_verified(path: str, *, sha256: str, size: int) -> bytes:
    """The artifact's bytes, after checking its size and SHA-256 against the record."""
    absolute = resolve(path)
    try:
        data = absolute.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"artifact {path} is missing from the artifact store") from None
    except OSError as exc:
        raise ArtifactError(f"artifact {path} cannot be read ({type(exc).__name__})") from None
    if len(data) != size:
        raise ArtifactError(
            f"artifact {path} has {len(data)} bytes, {size} were registered: "
            "it was changed after registration; refused"
        )
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ArtifactError(
            f"artifact {path} fails its SHA-256 check (registered {sha256[:12]}…, "
            f"found {actual[:12]}…): it was changed after registration; refused"
        )
    return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (the directory entry), where the OS allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

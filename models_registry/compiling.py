"""Compile a registered version into a tree predictor; load a compiled one for serving.

A compiled library is native code that every worker maps into its memory, so it is
built only by the project's own processes: the job engine in the background
(models_registry.auto_compile, on by default), or an operator at the shell
(``manage.py compile_model``, ``register_model --compile``); always here, from the
version's artifact after its hash is checked (models_registry.artifacts.native), never taken
from a file someone hands in. It is stored in the artifact store by content hash, and the version
records its path, SHA-256, size, toolchain, agreement with the booster, who compiled it
and when. Serving loads it only after checking that size and hash again, and only on
the platform and tl2cgen it was built with; otherwise it serves the booster and says so
(serving.predict.predictors).
"""

from __future__ import annotations

import getpass
import logging
import socket
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from models_registry.artifacts import loaders, native, storage
from models_registry.errors import RegistryError
from models_registry.models import ModelVersion
from models_registry.services import predictor_load
from models_registry.signals import versions_changed

logger = logging.getLogger(__name__)

_COMPILED_FIELDS = [
    "compiled_path",
    "compiled_sha256",
    "compiled_size",
    "compiled_toolchain",
    "compiled_max_error",
    "compiled_by",
    "compiled_at",
]


class CompileRefused(RegistryError):
    """The version cannot be compiled (its framework, no compiler, a disagreement)."""


@dataclass(frozen=True)
class CompiledRecord:
    """What serving needs of a version's compiled library, detached from the ORM."""

    path: str
    sha256: str
    size: int
    toolchain: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, version: ModelVersion) -> CompiledRecord | None:
        if not version.is_compiled:
            return None
        return cls(
            path=version.compiled_path,
            sha256=version.compiled_sha256,
            size=version.compiled_size or 0,
            toolchain=tuple(sorted((version.compiled_toolchain or {}).items())),
        )


def operator_identity() -> str:
    """Who runs this command: the login name and the host (``ops@web-1``)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container's numeric user)
        user = "uid-unknown"
    return f"{user}@{socket.gethostname()}"[:150]


def version_compile(
    *, version: ModelVersion, compiled_by: str, force: bool = False, jobs: int = 0
) -> ModelVersion:
    """Build ``version``'s tree predictor, check it against the booster, record it.

    ``compiled_by`` names the operator (``operator_identity()``). A version compiled
    before is refused unless ``force`` (a new toolchain or platform). Raises
    CompileRefused with the reason; the record is changed only on success. Every worker
    picks the library up at its next resolution (serving, told on commit).
    """
    if version.framework not in native.COMPILABLE:
        raise CompileRefused(
            f"{version} is {version.get_framework_display()}: only XGBoost and LightGBM "
            "versions compile to a tree predictor",
            field="version",
        )
    if version.is_compiled and not force:
        raise CompileRefused(_already_compiled(version), field="version")
    try:
        native.check_compilable(version.framework)
        booster = predictor_load(
            framework=version.framework,
            artifact_path=version.artifact_path,
            sha256=version.sha256,
            size=version.size,
            pickle_trusted=False,
        )
        library = native.compile_library(version.framework, booster, jobs=jobs)
    except (storage.ArtifactError, loaders.LoadError, native.CompileError) as exc:
        raise CompileRefused(f"{version} was not compiled: {exc}", field="version") from None
    stored = storage.store_chunks([library.data], extension=native.EXTENSION)
    with transaction.atomic():
        # Two operators compiling one version at once: the second waits here and is
        # refused (or, with force, replaces the first's record with its own).
        locked = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
        if locked.is_compiled and not force:
            raise CompileRefused(_already_compiled(locked), field="version")
        locked.compiled_path = stored.path
        locked.compiled_sha256 = stored.sha256
        locked.compiled_size = stored.size
        locked.compiled_toolchain = library.toolchain.versions
        locked.compiled_max_error = library.max_error
        locked.compiled_by = compiled_by[:150]
        locked.compiled_at = timezone.now()
        # A library is recorded: whatever held the background job back is past.
        locked.compile_hold = ""
        locked.save(update_fields=[*_COMPILED_FIELDS, "compile_hold"])
        name = locked.model.name
        transaction.on_commit(lambda: versions_changed.send(sender=ModelVersion, model=name))
    logger.info(
        "model version compiled",
        extra={
            "model": name,
            "version": locked.version,
            "sha256": stored.sha256,
            "size": stored.size,
            "compile_seconds": library.compile_seconds,
            "max_error": library.max_error,
            "probe_rows": library.probe_rows,
            "toolchain": library.toolchain.versions,
            "compiled_by": compiled_by,
        },
    )
    return locked


def version_uncompile(*, version: ModelVersion, removed_by: str) -> ModelVersion:
    """Stop serving ``version``'s compiled library: the workers go back to the booster.

    The library's file stays in the artifact store (content-addressed, like artifacts).
    The job engine does not compile the version again (its compile_hold says why) until
    an operator runs compile_model.
    """
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
        if not locked.is_compiled:
            raise CompileRefused(f"{locked} is not compiled", field="version")
        previous = locked.compiled_sha256
        locked.compiled_path = locked.compiled_sha256 = locked.compiled_by = ""
        locked.compiled_size = locked.compiled_max_error = locked.compiled_at = None
        locked.compiled_toolchain = {}
        # The job engine must not build it again behind the operator's back.
        locked.compile_hold = (
            f"its library was removed by {removed_by} at "
            f"{timezone.now():%Y-%m-%d %H:%M} UTC; compile_model builds it again"
        )[:300]
        locked.save(update_fields=[*_COMPILED_FIELDS, "compile_hold"])
        name = locked.model.name
        transaction.on_commit(lambda: versions_changed.send(sender=ModelVersion, model=name))
    logger.warning(
        "compiled predictor removed",
        extra={
            "model": name,
            "version": locked.version,
            "sha256": previous,
            "removed_by": removed_by,
        },
    )
    return locked


def compiled_predictor_load(
    *,
    framework: str,
    record: CompiledRecord,
    n_features: int,
    output_kind: str,
    threads: int = 1,
) -> native.CompiledPredictor:
    """Load a version's compiled library: from the artifact root, its hash checked first.

    Raises storage.ArtifactError (missing, outside the root, changed since it was
    compiled) or native.CompileError (another platform or tl2cgen, or it does not load);
    the caller serves the booster instead.
    """
    native.check_loadable(dict(record.toolchain))
    data = storage.read_verified(record.path, sha256=record.sha256, size=record.size)
    return native.CompiledPredictor(
        data,
        framework=framework,
        n_features=n_features,
        threads=threads,
        output_kind=output_kind,
    )


def _already_compiled(version: ModelVersion) -> str:
    when = version.compiled_at.strftime("%Y-%m-%d %H:%M UTC") if version.compiled_at else "?"
    return (
        f"{version} is already compiled (by {version.compiled_by or '?'} at {when}, sha256 "
        f"{version.compiled_sha256[:12]}…); pass --force to build it again"
    )

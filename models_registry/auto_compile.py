"""Compile registered tree versions in the background, so that nobody has to.

A registered XGBoost or LightGBM version serves through its booster until a compiled
tree predictor is recorded for it (models_registry.compiling); the compiled one answers
a single row several times faster (bench/README.md, "Compiled tree predictor"). The job
engine's periodic job (models_registry.tasks.compile_models, every
MODEL_COMPILE_EVERY_SECONDS) compiles one waiting version a run, with
MODEL_COMPILE_JOBS compiler processes, through the same service an operator's
``compile_model`` calls: the library is built from the hash-checked artifact, kept only
if it agrees with the booster, and recorded; the workers then load it after checking its
size and hash again (serving.predict.predictors). Until then, and whenever that fails, the
booster serves.

Which versions wait: tree versions with no library and no hold that an alias names (as
its version or its challenger) or that were registered in the last
MODEL_COMPILE_RECENT_DAYS (older unserved versions are left to an operator); named ones
first, newest first. A compile the service refuses (no compiler on the worker, a
disagreement with the booster, an artifact that changed) records why on the version
(``compile_hold``, shown in the admin) and is not tried again; an operator's
``compile_model`` clears it, and ``compile_model --remove`` sets one, so that the job
does not build again what an operator took away. MODEL_COMPILE_IN_BACKGROUND=0 turns
the job off.
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from models_registry.artifacts import native
from models_registry.compiling import CompileRefused, version_compile
from models_registry.models import ModelAlias, ModelVersion

logger = logging.getLogger(__name__)


def job_identity() -> str:
    """Who compiled a version in the background: ``job-engine@<host>``."""
    return f"job-engine@{socket.gethostname()}"[:150]


def versions_waiting(*, now: datetime | None = None) -> QuerySet[ModelVersion]:
    """The tree versions the job would compile, in the order it would: those an alias
    names first, then the newest."""
    since = (now or timezone.now()) - timedelta(days=settings.MODEL_COMPILE_RECENT_DAYS)
    # Served: an alias's version, or its challenger.
    named = Exists(
        ModelAlias.objects.filter(Q(version=OuterRef("pk")) | Q(challenger=OuterRef("pk")))
    )
    return (
        ModelVersion.objects.filter(
            framework__in=sorted(native.COMPILABLE), compiled_sha256="", compile_hold=""
        )
        .annotate(named=named)
        .filter(Q(named=True) | Q(created_at__gte=since))
        .select_related("model")
        .order_by("-named", "-created_at", "-pk")
    )


def compile_next(*, now: datetime | None = None) -> ModelVersion | None:
    """Compile the first waiting version; the version compiled (or held), or None when
    none waits or the job is off.

    A refusal is recorded on the version (its compile_hold) and logged as a warning: the
    booster goes on serving it, and the job moves on to the next version.
    """
    if not settings.MODEL_COMPILE_IN_BACKGROUND:
        return None
    version = versions_waiting(now=now).first()
    if version is None:
        return None
    logger.info(
        "compiling a version in the background",
        extra={"model": version.model.name, "version": version.version},
    )
    try:
        return version_compile(
            version=version, compiled_by=job_identity(), jobs=settings.MODEL_COMPILE_JOBS
        )
    except CompileRefused as exc:
        return _hold(version, str(exc))


def _hold(version: ModelVersion, reason: str) -> ModelVersion:
    """Record why the job leaves ``version`` alone, unless it was compiled meanwhile
    (an operator's compile_model, or another worker's job, won the race: no failure)."""
    held = ModelVersion.objects.filter(pk=version.pk, compiled_sha256="").update(
        compile_hold=reason[:300]
    )
    version.refresh_from_db()
    if held:
        logger.warning(
            "background compile refused; the booster serves this version",
            extra={"model": version.model.name, "version": version.version, "reason": reason},
        )
    return version

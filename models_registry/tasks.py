"""The registry's periodic job (Celery, scheduled by settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from models_registry.auto_compile import compile_next


@shared_task(name="models_registry.compile_models", ignore_result=True)
def compile_models() -> str | None:
    """Compile the next registered tree version that waits for its compiled predictor
    (models_registry.auto_compile); what it compiled, or None."""
    version = compile_next()
    return None if version is None else str(version)

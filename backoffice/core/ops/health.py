"""Liveness and readiness.

``/healthz`` answers while the process runs. ``/readyz`` answers 200 only when every
registered check passes: the database answers, no migration is unapplied, the cache
answers, and whatever the apps register (the journal adds its spool backlog). A check
may instead warn (``CheckWarning``): the service works but something needs a person (an
old backup, a replica behind); readiness stays, the answer names it under "warnings".
Checks run
in worker threads under one deadline, so a hung dependency costs at most
``READINESS_TIMEOUT`` seconds and never hangs the probe.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache, caches
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from backoffice.core.ops.logconf import redact

logger = logging.getLogger(__name__)

READINESS_TIMEOUT = 5.0
# Once every migration is applied, re-reading the migration graph on every probe is
# wasted work; a deploy that adds migrations is seen within this many seconds.
MIGRATIONS_OK_TTL = 30.0


class CheckFailed(Exception):
    """A readiness check found its dependency unusable; the message says why."""


class CheckWarning(Exception):
    """A check found something a person must look at that does not stop this process
    from serving (readiness stays 200); the message says what, ``details`` the figures."""

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.details = details or {}


@dataclass
class CheckResult:
    ok: bool
    duration_ms: float
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "duration_ms": self.duration_ms}
        if self.error:
            body["error"] = self.error
        if self.warning:
            body["warning"] = self.warning
        body.update(self.details)
        return body

    @property
    def public(self) -> str:
        """What anyone may see: ok, warning or failed."""
        if not self.ok:
            return "failed"
        return "warning" if self.warning else "ok"


# A check returns details (a dict, maybe empty) or raises CheckFailed / any error.
Check = Callable[[], dict[str, Any] | None]
_checks: dict[str, Check] = {}
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_last_state: dict[str, bool] = {}
_migrations_ok_until = 0.0


# Checks that can only warn (their failures and time-outs are warnings too).
_advisory: set[str] = set()


def register_check(name: str, check: Check, *, advisory: bool = False) -> None:
    """Add a readiness check (apps call this from AppConfig.ready). An ``advisory``
    check never makes the process unready: its errors and time-outs are warnings."""
    _checks[name] = check
    if advisory:
        _advisory.add(name)
    else:
        _advisory.discard(name)


def check_database() -> dict[str, Any]:
    """SELECT 1 on a connection of this thread, then the migration plan."""
    global _migrations_ok_until
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        if time.monotonic() < _migrations_ok_until:
            return {}
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            raise CheckFailed(f"{len(plan)} unapplied migration(s): {names}")
        _migrations_ok_until = time.monotonic() + MIGRATIONS_OK_TTL
        return {}
    finally:
        # The probe's own connection; request connections are untouched.
        connection.close()


def check_cache() -> dict[str, Any]:
    """Write a key and read it back."""
    key = f"readyz:{os.getpid()}:{threading.get_ident()}"
    token = uuid.uuid4().hex
    cache.set(key, token, timeout=10)
    if cache.get(key) != token:
        raise CheckFailed("the cache did not return the value just written")
    return {"backend": type(caches["default"]).__name__}


register_check("database", check_database)
register_check("cache", check_cache)


def _run_one(name: str, check: Check) -> CheckResult:
    started = time.perf_counter()
    warning = None
    try:
        details = check() or {}
        ok, error = True, None
    except CheckWarning as exc:
        details, ok, error = exc.details, True, None
        warning = redact(str(exc))[:300]
    except Exception as exc:  # every failure is a readiness answer, never a 500
        details, ok = {}, False
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        error = redact(f"{type(exc).__name__}: {first_line}")[:300]
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return CheckResult(
        ok=ok, duration_ms=duration_ms, error=error, details=details, warning=warning
    )


def _pool() -> ThreadPoolExecutor:
    # Made lazily: a pool created before gunicorn forks would have no threads after.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")
        return _executor


def run_checks(timeout: float | None = None) -> tuple[bool, dict[str, CheckResult]]:
    """Run every registered check concurrently; a check past the deadline fails."""
    timeout = READINESS_TIMEOUT if timeout is None else timeout
    futures = {name: _pool().submit(_run_one, name, check) for name, check in _checks.items()}
    wait(futures.values(), timeout=timeout)
    results: dict[str, CheckResult] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=0)
        except FutureTimeout:
            results[name] = CheckResult(
                ok=False,
                duration_ms=timeout * 1000,
                error=f"no answer within {timeout:g} s",
            )
        if name in _advisory and not results[name].ok:
            failed = results[name]
            results[name] = CheckResult(
                ok=True, duration_ms=failed.duration_ms, warning=failed.error
            )
    _log_transitions(results)
    return all(result.ok for result in results.values()), results


def _log_transitions(results: dict[str, CheckResult]) -> None:
    """One line when a dependency goes down or comes back, not one per probe."""
    for name, result in results.items():
        previous = _last_state.get(name)
        _last_state[name] = result.ok
        if previous is None and result.ok:
            continue
        if not result.ok and previous is not False:
            logger.warning("readiness check failed", extra={"check": name, "error": result.error})
        elif result.ok and previous is False:
            logger.info("readiness check recovered", extra={"check": name})


@never_cache
@require_GET
def healthz(request):
    """The process runs and answers HTTP."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """200 when every dependency answers, else 503 naming what failed.

    Anyone (a load balancer, an orchestrator) sees ready / not ready per check; the
    details (timings, figures, error texts that may name hosts and ports) are for
    staff only.
    """
    ok, results = run_checks()
    user = getattr(request, "user", None)
    staff = bool(user and user.is_authenticated and user.is_active and user.is_staff)
    body = {
        "status": "ready" if ok else "not ready",
        "checks": {
            name: result.as_dict() if staff else result.public for name, result in results.items()
        },
    }
    warnings = sorted(name for name, result in results.items() if result.warning)
    if warnings:
        body["warnings"] = warnings
    if not ok:
        body["failed"] = sorted(name for name, result in results.items() if not result.ok)
    return JsonResponse(body, status=200 if ok else 503)

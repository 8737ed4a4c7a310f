"""Point-in-time recovery as operators see it: the WAL archive and the newest backup.

pgBackRest (deploy/pgbackrest/) archives every WAL segment and takes the scheduled
full and differential backups; this module tells whether that is happening, on the
staff view of ``/readyz`` (the ``backups`` check, a warning and never a failure: an
old backup is a reason to page someone, not to take the web workers out of the load
balancer) and in Prometheus (``backoffice_wal_archive_*``, ``backoffice_backup_*``).

Where each figure comes from, and why:

- **The WAL archive: ``pg_stat_archiver``, from the database.** PostgreSQL counts every
  segment its ``archive_command`` archived or failed to, whatever the tool; any
  connection may read it, so the web hosts need no pgBackRest and no access to the
  repository, and the figure is as fresh as the probe. The segments still waiting are
  the distance from the last archived segment to the one being written.
- **The backups: ``pgbackrest info --output=json``, run by a periodic Celery job**
  (``backoffice.record_backup_info``, every 5 minutes) on a worker that can read the
  repository (``PGBACKREST_STANZA`` set there), which caches what it found in the shared
  cache. The database knows nothing of a backup once it has finished, and the
  repository (a volume, another machine, object storage) is not something every web
  worker should reach, nor should every probe start a process.

Ages are measured on the database's clock (``now()``), the clock the WAL and the
backups are stamped with, never on the application's.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from backoffice.core.db.replica import REPLICA, configured, replica_state

logger = logging.getLogger(__name__)

BACKUP_INFO_KEY = "recovery:backup-info"
BACKUP_INFO_TTL = 7 * 24 * 3600
# The job runs every 5 minutes; figures older than three runs are stale.
BACKUP_INFO_STALE_SECONDS = 900
INFO_TIMEOUT_SECONDS = 60
# Several gauges are read at one scrape: one query answers them all.
FIGURES_MEMORY_SECONDS = 5.0

WAL_SQL = """
    SELECT extract(epoch FROM now())::float8,
           current_setting('archive_mode'),
           s.archived_count, s.last_archived_wal,
           extract(epoch FROM now() - s.last_archived_time)::float8,
           s.failed_count, s.last_failed_wal,
           extract(epoch FROM now() - s.last_failed_time)::float8,
           s.last_failed_time > coalesce(s.last_archived_time, '-infinity'),
           CASE WHEN pg_is_in_recovery() THEN NULL
                ELSE pg_walfile_name(pg_current_wal_lsn()) END,
           (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')
    FROM pg_stat_archiver s
"""


def _segment_number(wal_name: str | None, segment_size: int) -> int | None:
    """The position of a WAL segment file (24 hex digits: timeline, log, segment)."""
    if not wal_name or len(wal_name) < 24:
        return None
    try:
        log, segment = int(wal_name[8:16], 16), int(wal_name[16:24], 16)
    except ValueError:
        return None
    return log * (0x100000000 // segment_size) + segment


def wal_archive_status() -> dict[str, Any]:
    """What PostgreSQL says of its WAL archive (pg_stat_archiver), with the database's
    clock: ``db_epoch`` (now), ``archive_mode``, ``archived_count``,
    ``last_archived_wal`` and its age, ``failed_count``, ``last_failed_wal`` and its
    age, ``failing`` (the last attempt failed), ``pending_segments`` (complete
    segments not archived yet; None on a standby)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(WAL_SQL)
        (
            db_epoch,
            archive_mode,
            archived,
            last_wal,
            last_age,
            failed,
            failed_wal,
            failed_age,
            failing,
            current_wal,
            segment_size,
        ) = cursor.fetchone()
    pending = None
    current = _segment_number(current_wal, segment_size)
    if current is not None:
        last = _segment_number(last_wal, segment_size)
        # The segment being written is not complete: it is not waiting yet. With nothing
        # archived, every segment before it is (an estimate from the first one).
        pending = max(0, current - (last if last is not None else 0) - 1)
    return {
        "db_epoch": db_epoch,
        "archive_mode": archive_mode,
        "archived_count": archived,
        "last_archived_wal": last_wal,
        "last_archived_age_seconds": _rounded(last_age),
        "failed_count": failed,
        "last_failed_wal": failed_wal,
        "last_failed_age_seconds": _rounded(failed_age),
        "failing": bool(failing),
        "pending_segments": pending,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- the backups: pgbackrest info, by the job engine ----------------------------------


def pgbackrest_command(*args: str) -> list[str]:
    """``pgbackrest`` with the configured stanza and configuration file."""
    command = ["pgbackrest", f"--stanza={settings.PGBACKREST_STANZA}"]
    if settings.PGBACKREST_CONFIG:
        command.append(f"--config={settings.PGBACKREST_CONFIG}")
    return [*command, *args]


def summarise_info(stanzas: list[dict[str, Any]], stanza: str) -> dict[str, Any]:
    """The figures kept from ``pgbackrest info --output=json``: the stanza's status,
    how many backups, the newest one and the newest full one (label, type, stop time as
    epoch seconds, on the clock of the database host), the newest WAL in the archive."""
    found = next((entry for entry in stanzas if entry.get("name") == stanza), None)
    if found is None:
        return {"problem": f"pgbackrest info does not list the stanza {stanza!r}"}
    backups = [b for b in found.get("backup") or [] if not b.get("error")]
    backups.sort(key=lambda b: b["timestamp"]["stop"])

    def brief(backup):
        if backup is None:
            return None
        return {
            "label": backup["label"],
            "type": backup["type"],
            "stop_epoch": backup["timestamp"]["stop"],
        }

    archives = found.get("archive") or []
    status = found.get("status") or {}
    return {
        "status_code": status.get("code"),
        "status_message": status.get("message", ""),
        "backups": len(backups),
        "newest": brief(backups[-1] if backups else None),
        "newest_full": brief(next((b for b in reversed(backups) if b["type"] == "full"), None)),
        "archive_max_wal": max((a.get("max") or "" for a in archives), default="") or None,
    }


def record_backup_info() -> dict[str, Any] | None:
    """Run ``pgbackrest info`` and keep its summary in the shared cache, stamped with
    the database's time (the Celery job; None where PGBACKREST_STANZA is unset)."""
    stanza = settings.PGBACKREST_STANZA
    if not stanza:
        return None
    info: dict[str, Any]
    if shutil.which("pgbackrest") is None:
        info = {"problem": "pgbackrest is not installed on the worker that runs this job"}
    else:
        try:
            result = subprocess.run(
                pgbackrest_command("--output=json", "info"),
                capture_output=True,
                text=True,
                timeout=INFO_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            result = None
            info = {"problem": f"pgbackrest info gave no answer in {INFO_TIMEOUT_SECONDS} s"}
        if result is not None and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            info = {"problem": f"pgbackrest info failed: {detail[0][:300]}"}
        elif result is not None:
            try:
                info = summarise_info(json.loads(result.stdout), stanza)
            except (ValueError, KeyError, TypeError) as exc:
                info = {"problem": f"pgbackrest info answered what this cannot read: {exc}"}
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM now())::float8")
        (info["recorded_epoch"],) = cursor.fetchone()
    info["stanza"] = stanza
    cache.set(BACKUP_INFO_KEY, info, timeout=BACKUP_INFO_TTL)
    if info.get("problem"):
        logger.warning("backup figures unavailable", extra={"problem": info["problem"]})
    return info


def backup_info() -> dict[str, Any] | None:
    """The summary the job last kept (None: none yet, or the cache lost it)."""
    return cache.get(BACKUP_INFO_KEY)


# --- the figures, judged --------------------------------------------------------------


def recovery_figures() -> dict[str, Any]:
    """The WAL archive and the backups, with ages on the database's clock, and the
    warnings they give against WAL_ARCHIVE_MAX_AGE_SECONDS and BACKUP_MAX_AGE_HOURS."""
    wal = wal_archive_status()
    now = wal.pop("db_epoch")
    backup: dict[str, Any] = {"stanza": settings.PGBACKREST_STANZA or None}
    try:
        info = backup_info()
    except Exception as exc:  # the cache is down: the WAL figures still count
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        info = {"problem": f"the backup figures cannot be read from the cache: {first_line}"}
        return {"wal": wal, "backup": {**backup, **info}, "warnings": _warnings(wal, backup, info)}
    if info:
        backup.update({k: v for k, v in info.items() if k not in ("recorded_epoch", "stanza")})
        backup["figures_age_seconds"] = _rounded(now - info["recorded_epoch"])
        for key in ("newest", "newest_full"):
            if info.get(key):
                backup[f"{key}_age_seconds"] = _rounded(now - info[key]["stop_epoch"])
    return {"wal": wal, "backup": backup, "warnings": _warnings(wal, backup, info)}


def _warnings(wal: dict, backup: dict, info: dict | None) -> list[str]:
    warnings = []
    wal_limit = settings.WAL_ARCHIVE_MAX_AGE_SECONDS
    if wal_limit > 0:
        last_age = wal["last_archived_age_seconds"]
        if wal["archive_mode"] == "off":
            warnings.append("WAL archiving is off (archive_mode): no point-in-time recovery")
        elif wal["failing"]:
            warnings.append(
                f"archiving WAL fails: {wal['last_failed_wal']} failed "
                f"{wal['last_failed_age_seconds']:.0f} s ago ({wal['failed_count']} failures)"
            )
        elif wal["pending_segments"] and (last_age is None or last_age > wal_limit):
            since = "nothing archived yet" if last_age is None else f"the last {last_age:.0f} s ago"
            warnings.append(
                f"{wal['pending_segments']} WAL segment(s) wait to be archived; {since} "
                f"(WAL_ARCHIVE_MAX_AGE_SECONDS={wal_limit:g})"
            )
    hours = settings.BACKUP_MAX_AGE_HOURS
    if hours > 0:
        if not settings.PGBACKREST_STANZA:
            warnings.append("no pgBackRest stanza is configured (PGBACKREST_STANZA)")
        elif info is None:
            warnings.append("no backup figures yet (the job backoffice.record_backup_info)")
        elif info.get("problem"):
            warnings.append(info["problem"])
        elif not info.get("newest"):
            warnings.append("the pgBackRest repository holds no valid backup")
        elif backup["newest_age_seconds"] > hours * 3600:
            warnings.append(
                f"the newest backup is {backup['newest_age_seconds'] / 3600:.1f} h old "
                f"(BACKUP_MAX_AGE_HOURS={hours:g})"
            )
        stale = backup.get("figures_age_seconds")
        if stale is not None and stale > BACKUP_INFO_STALE_SECONDS:
            warnings.append(
                f"the backup figures are {stale / 60:.0f} min old: "
                "is the job engine running backoffice.record_backup_info?"
            )
    return warnings


def check_backups() -> dict[str, Any]:
    """The ``backups`` readiness check: the figures, and a warning naming each problem."""
    from backoffice.core.ops.health import CheckWarning

    try:
        figures = recovery_figures()
    except Exception as exc:
        # Never a failure: the database's own check says whether it answers.
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckWarning(f"the recovery figures cannot be read: {first_line[:200]}") from None
    finally:
        # The probe thread's own connection, as backoffice.core.ops.health.check_database.
        connections["default"].close()
    details = {"wal": figures["wal"], "backup": figures["backup"]}
    if figures["warnings"]:
        raise CheckWarning("; ".join(figures["warnings"]), details)
    return details


_memory_lock = threading.Lock()
_memory: tuple[float, dict[str, Any]] | None = None


def _figures_for_scrape() -> dict[str, Any]:
    global _memory
    with _memory_lock:
        if _memory is None or time.monotonic() - _memory[0] > FIGURES_MEMORY_SECONDS:
            _memory = (time.monotonic(), recovery_figures())
        return _memory[1]


GAUGES = {
    "backoffice_wal_archive_last_age_seconds": (
        "Seconds since PostgreSQL last archived a WAL segment (database clock).",
        lambda f: f["wal"]["last_archived_age_seconds"],
    ),
    "backoffice_wal_archive_pending_segments": (
        "Complete WAL segments not archived yet.",
        lambda f: f["wal"]["pending_segments"],
    ),
    "backoffice_wal_archive_failures": (
        "WAL segments archive_command failed to archive since the statistics reset.",
        lambda f: f["wal"]["failed_count"],
    ),
    "backoffice_backup_newest_age_seconds": (
        "Age of the newest pgBackRest backup, full or differential (database clock).",
        lambda f: f["backup"].get("newest_age_seconds"),
    ),
    "backoffice_backup_newest_full_age_seconds": (
        "Age of the newest full pgBackRest backup (database clock).",
        lambda f: f["backup"].get("newest_full_age_seconds"),
    ),
    "backoffice_recovery_warnings": (
        "Problems /readyz names under its backups check (0: WAL archived and backups "
        "recent, against WAL_ARCHIVE_MAX_AGE_SECONDS and BACKUP_MAX_AGE_HOURS).",
        lambda f: len(f["warnings"]),
    ),
}


def register() -> None:
    """The readiness check and the gauges (BackofficeConfig.ready)."""
    from backoffice.core.ops import health, prometheus

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return  # the embedded default has no WAL and no backups but make backup's dumps
    health.register_check("backups", check_backups, advisory=True)
    for name, (help_text, pick) in GAUGES.items():
        prometheus.register_gauge(name, help_text, lambda pick=pick: pick(_figures_for_scrape()))


# -- the read replica (backoffice.core.db.replica): how far behind, and whether in use ---


def check_replica() -> dict:
    """The ``replica`` readiness check: its state; a warning while reads go to the
    primary (the replica is not needed to serve, so never a failure)."""
    from backoffice.core.ops.health import CheckWarning

    try:
        state = replica_state()
    except Exception as exc:  # never a failure: reads fall back to the primary
        raise CheckWarning(f"the replica's state cannot be read: {exc}"[:300]) from None
    finally:
        # The probe thread's own connection (a later look opens one where it runs).
        connections[REPLICA].close()
    if not state.usable:
        raise CheckWarning(f"reads go to the primary: {state.why_not}", state.as_dict())
    return state.as_dict()


def register_replica() -> None:
    """The replica's readiness check and gauges, where one is configured."""
    from backoffice.core.ops import health, prometheus

    if not configured():
        return
    health.register_check("replica", check_replica, advisory=True)
    prometheus.register_gauge(
        "backoffice_replica_lag_seconds",
        "How far the read replica is behind the primary (its replay, database clock).",
        lambda: replica_state().lag_seconds,
    )
    prometheus.register_gauge(
        "backoffice_replica_in_use",
        "1 when routed reads go to the replica, 0 when they go to the primary.",
        lambda: float(replica_state().usable),
    )

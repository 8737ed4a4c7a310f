"""The streaming replica's state, as each worker process sees it: reachable, how far
behind the primary, and so whether reads may go there (backoffice.core.db.routers).

The lag is measured on the replica itself, in SQL, on the database's clock (never the
application's): zero when it has replayed everything it received, else the age of the
last transaction it replayed. It is measured at most every
DATABASE_REPLICA_CHECK_SECONDS per process (a cheap query), and again at once after a
read on the replica failed. An outage and a lag beyond the bound are each logged once
when they start and once when they end, not on every request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"

# in_recovery, lag in seconds (None: behind by an unknown amount: nothing replayed yet).
LAG_SQL = """
    SELECT pg_is_in_recovery(),
           CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                THEN 0
                ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
           END
"""


@dataclass(frozen=True)
class ReplicaState:
    """What the last look at the replica found."""

    reachable: bool
    in_recovery: bool = True
    lag_seconds: float | None = None
    error: str = ""

    @property
    def usable(self) -> bool:
        """Reads may go there: reachable, a standby, and within the lag bound."""
        return (
            self.reachable
            and self.in_recovery
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS
        )

    @property
    def why_not(self) -> str:
        """Why reads go to the primary ("" when they may go to the replica)."""
        if not self.reachable:
            return "the replica cannot be reached"
        if not self.in_recovery:
            return "DATABASE_REPLICA_URL names a server that is not a standby"
        if self.lag_seconds is None:
            return "the replica is behind by an unknown amount (it has replayed nothing yet)"
        if self.usable:
            return ""
        return f"the replica is {self.lag_seconds:.0f} s behind"

    def as_dict(self) -> dict:
        return {
            "reachable": self.reachable,
            "in_recovery": self.in_recovery,
            "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
            "max_lag_seconds": settings.DATABASE_REPLICA_MAX_LAG_SECONDS,
            "reads_go_to": "replica" if self.usable else "primary",
            **({"why": self.why_not} if self.why_not else {}),
            **({"error": self.error} if self.error else {}),
        }


_lock = threading.Lock()
_state: ReplicaState | None = None
_checked_at = float("-inf")


def configured() -> bool:
    """True when DATABASE_REPLICA_URL is set (settings add the ``replica`` alias)."""
    return REPLICA in settings.DATABASES


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """The replica's state, measured again when the last look is older than
    DATABASE_REPLICA_CHECK_SECONDS (or ``fresh``)."""
    global _state, _checked_at
    with _lock:
        if (
            not fresh
            and _state is not None
            and time.monotonic() - _checked_at < settings.DATABASE_REPLICA_CHECK_SECONDS
        ):
            return _state
        state = _measure()
        _log_transition(_state, state)
        _state, _checked_at = state, time.monotonic()
        return state


def _measure() -> ReplicaState:
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as exc:
        # A broken persistent connection is replaced at the next look.
        connection.close()
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return ReplicaState(reachable=False, in_recovery=False, error=first_line[:300])
    return ReplicaState(
        reachable=True,
        in_recovery=bool(in_recovery),
        lag_seconds=None if lag is None else max(0.0, float(lag)),
    )


def _log_transition(before: ReplicaState | None, after: ReplicaState) -> None:
    """One line when reads leave the replica (naming why), one when they come back."""
    was_usable = True if before is None else before.usable
    if was_usable and not after.usable:
        logger.warning(
            "reads go to the primary: %s",
            after.why_not,
            extra={"replica": after.as_dict()},
        )
    elif before is not None and not was_usable and after.usable:
        logger.info("reads go to the replica again", extra={"replica": after.as_dict()})


def forget() -> None:
    """Drop the remembered state (tests; a worker after fork measures on its own)."""
    global _state, _checked_at
    with _lock:
        _state, _checked_at = None, float("-inf")

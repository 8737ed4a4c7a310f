"""Writes of API keys (create, revoke) and their verification, which survives a database
outage (the shared cache's record of recent verifications and revocations)."""

import hashlib
import hmac
import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from apikeys.key_memory import memory
from apikeys.models import ApiKey, Scope
from backoffice.core.db.outages import is_database_outage

logger = logging.getLogger(__name__)

KEY_PREFIX_LENGTH = 12
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyError(Exception):
    """An API key cannot be created or revoked as asked; the message says why."""


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def parse_scopes(scopes: list[str] | str) -> list[str]:
    """Validate scope names; a comma-separated string is accepted."""
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ApiKeyError(
            f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(Scope.values)}"
        )
    if not scopes:
        raise ApiKeyError(f"give at least one scope: {', '.join(Scope.values)}")
    return sorted(set(scopes))


@transaction.atomic
def api_key_create(*, name: str, scopes: list[str] | str, created_by=None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise ApiKeyError("an API key needs a name")
    if ApiKey.objects.filter(name=name).exists():
        raise ApiKeyError(f"an API key named {name!r} exists already")
    raw_key = "bo_" + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=raw_key[:KEY_PREFIX_LENGTH],
        key_hash=hash_key(raw_key),
        scopes=parse_scopes(scopes),
        created_by=created_by,
    )
    try:
        key.full_clean()
    except ValidationError as exc:
        raise ApiKeyError("; ".join(exc.messages)) from None
    key.save()
    return key, raw_key


def api_key_revoke(*, key: ApiKey) -> bool:
    """Revoke a key at once; True if it was active. Revoking twice changes nothing in
    the database, and publishes the revocation to the shared cache again.

    The database is what every verification asks while it answers; the shared cache
    carries the revocation to what it cannot reach: each worker's memory of keys it
    verified (the predict path's, serving.predict.auth, and the outage grace's, below).
    """
    # A conditional update, so that two staff revoking at once record one time.
    revoked = bool(
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )
    if not publish_revocation(key):
        logger.error(
            "API key revoked in the database, but the shared cache is unreachable: "
            "revoke it again once the cache answers, so that a database outage cannot "
            "revive it from a worker's memory",
            extra={"api_key": key.name},
        )
    return revoked


class ApiKeyUnverifiable(Exception):
    """The database is unreachable and this process has not verified the key lately."""


# Keys this process verified against the database (apikeys.key_memory.memory): read
# here only while the database is unreachable, so that bots that were trading a moment
# ago can still hand their trades to the spool, and only for a key the shared cache
# says is not revoked (REVOKED_PREFIX): a revocation reaches the database first, but
# not this memory.
# The same, shared by every worker through the cache: a worker that never saw a key
# accepts it during an outage when any worker verified it within the grace period.
# Written at most once a minute per key and worker (wall-clock seconds in the value).
SHARED_VERIFIED_PREFIX = "api-key-verified:"
SHARED_WRITE_INTERVAL = 60.0
_shared_written: dict[str, float] = {}
# The revoked keys, by hash, kept in the shared cache for longer than any memory of a
# verification lives (the grace period): what a worker asks before it accepts a key
# from memory while the database is down.
REVOKED_PREFIX = "api-key-revoked:"
REVOKED_MARGIN_SECONDS = 300
# Changed on every revocation; the predict path reads it with the alias stamps and
# forgets the keys it remembers when it changes (serving.predict.hotswap,
# apikeys.key_memory).
REVOCATION_STAMP = "api-key-revocation-stamp"


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None. Compared in constant time.

    While the database cannot be reached, a key verified (by this process or another)
    within settings.API_KEY_OUTAGE_GRACE_SECONDS is accepted if the shared cache says it
    is not revoked; a revoked one is None. Raises ApiKeyUnverifiable when neither is
    known: the key was not verified lately, or the shared cache is unreachable too.
    """
    if not raw_key or len(raw_key) < KEY_PREFIX_LENGTH or len(raw_key) > 200:
        return None
    digest = hash_key(raw_key)
    try:
        key = _verify(raw_key, digest)
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        return _verified_before_outage(digest)
    if key is None:
        memory.forget(digest)
    else:
        memory.remember(digest, key)
        _share_verification(digest, key)
    return key


def _share_verification(digest: str, key: ApiKey) -> None:
    from backoffice.core.cache_guard import cache_set

    now = time.monotonic()
    if now - _shared_written.get(digest, -SHARED_WRITE_INTERVAL) < SHARED_WRITE_INTERVAL:
        return
    _shared_written[digest] = now
    grace = settings.API_KEY_OUTAGE_GRACE_SECONDS
    record = {"id": key.pk, "name": key.name, "prefix": key.prefix, "scopes": key.scopes}
    cache_set(SHARED_VERIFIED_PREFIX + digest, {**record, "at": time.time()}, grace, "API key")


def publish_revocation(key: ApiKey) -> bool:
    """Tell every worker of a revocation through the shared cache: the key joins the
    revoked list, its shared verification goes, the revocation stamp changes. False
    when the cache is unreachable (this process forgets the key all the same)."""
    from backoffice.core.cache_guard import cache_delete, cache_set

    _shared_written.pop(key.key_hash, None)
    memory.forget(key.key_hash)
    ttl = settings.API_KEY_OUTAGE_GRACE_SECONDS + REVOKED_MARGIN_SECONDS
    listed = cache_set(REVOKED_PREFIX + key.key_hash, time.time(), ttl, "API key")
    cache_delete(SHARED_VERIFIED_PREFIX + key.key_hash, "API key")
    # No expiry: a stamp that vanished would read as one more change, which is harmless.
    stamped = cache_set(REVOCATION_STAMP, secrets.token_hex(8), None, "API key")
    return listed and stamped


def _verify(raw_key: str, digest: str) -> ApiKey | None:
    key = ApiKey.objects.filter(prefix=raw_key[:KEY_PREFIX_LENGTH]).first()
    if key is None or not hmac.compare_digest(key.key_hash, digest) or not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def _verified_before_outage(digest: str) -> ApiKey | None:
    from backoffice.core.cache_guard import cache_get_many

    grace = settings.API_KEY_OUTAGE_GRACE_SECONDS
    shared_key = SHARED_VERIFIED_PREFIX + digest
    found = cache_get_many([shared_key, REVOKED_PREFIX + digest], "API key")
    if found is None:
        # Without the revoked list, no memory of a verification can be trusted: the key
        # may have been revoked since, by another process.
        raise ApiKeyUnverifiable(
            "the database and the shared cache are unreachable, so this API key cannot "
            "be checked against revocations; try again shortly"
        )
    if REVOKED_PREFIX + digest in found:
        memory.forget(digest)
        logger.warning("database unreachable: a revoked API key was refused")
        return None
    seen = memory.within(digest, grace)
    if seen is not None:
        logger.warning(
            "database unreachable: API key accepted from this process's recent verification",
            extra={"api_key": seen.name},
        )
        return seen
    shared = _shared_verification(found.get(shared_key), digest, grace)
    if shared is not None:
        logger.warning(
            "database unreachable: API key accepted from a worker's recent verification",
            extra={"api_key": shared.name},
        )
        return shared
    raise ApiKeyUnverifiable(
        "the database is unreachable and this API key cannot be verified; try again shortly"
    )


def _shared_verification(record, digest: str, grace: float) -> ApiKey | None:
    if not isinstance(record, dict) or time.time() - float(record.get("at", 0)) > grace:
        return None
    # An unsaved copy: enough for the scope check and the request log, never saved.
    return ApiKey(
        pk=record["id"],
        name=record["name"],
        prefix=record["prefix"],
        key_hash=digest,
        scopes=list(record["scopes"]),
    )

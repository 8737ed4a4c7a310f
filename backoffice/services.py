"""Writes of the backoffice app: API keys."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from backoffice.models import ApiKey, Scope

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
    """Revoke a key at once; True if it was active. Revoking twice changes nothing."""
    # A conditional update, so that two staff revoking at once record one time.
    return bool(
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None. Compared in constant time."""
    if not raw_key or len(raw_key) < KEY_PREFIX_LENGTH or len(raw_key) > 200:
        return None
    key = ApiKey.objects.filter(prefix=raw_key[:KEY_PREFIX_LENGTH]).first()
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw_key)):
        return None
    if not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key

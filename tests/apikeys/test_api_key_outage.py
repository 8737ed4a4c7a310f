"""API keys while the database is down: a key any worker verified lately still works,
unless the shared cache lists it as revoked, or cannot be asked."""

import pytest

from apikeys.models import ApiKey
from apikeys.services import api_key_authenticate, api_key_create, api_key_revoke


@pytest.fixture(autouse=True)
def _shared_cache_reachable():
    """These tests ask the tier's Redis: no outage another test left in this process."""
    from backoffice.core import cache_guard

    cache_guard.guard.reset()
    yield
    cache_guard.guard.reset()


@pytest.mark.django_db(transaction=True)
def test_during_an_outage_a_key_verified_by_another_worker_is_accepted(settings):
    """Another worker verified the key (its record is in the shared cache); this worker
    never did. With the database down, the key is accepted, so its trades are spooled;
    a revoked key is not."""
    from django.db import connection

    from apikeys import services
    from tests.journal.test_faults import drop_this_connection

    key, raw = api_key_create(name="other-worker-bot", scopes="trades:write")
    _, revoked_raw = api_key_create(name="revoked-bot", scopes="trades:write")
    assert api_key_authenticate(raw) is not None
    services.memory.clear()  # as if another worker had verified it
    drop_this_connection()
    accepted = api_key_authenticate(raw)
    connection.close()  # as the request's end does with a broken connection
    assert accepted is not None and accepted.name == "other-worker-bot"
    assert accepted.has_scope("trades:write") and not accepted.has_scope("predict")
    drop_this_connection()
    with pytest.raises(services.ApiKeyUnverifiable):
        api_key_authenticate(revoked_raw)  # never verified anywhere
    connection.close()
    # Revoking forgets the shared verification at once, and lists the key as revoked:
    # refused (401), not merely unverifiable.
    api_key_revoke(key=ApiKey.objects.get(pk=key.pk))
    services.memory.clear()
    drop_this_connection()
    assert api_key_authenticate(raw) is None
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_during_an_outage_a_key_revoked_elsewhere_is_refused_from_this_process_memory():
    """Issue 26, item 3: another process revoked the key (the database and the shared
    cache know; this process's memory of its verification does not). With the database
    down, the memory no longer lets it in: the revoked list in the shared cache is
    asked first."""
    from django.db import connection

    from apikeys import services
    from tests.journal.test_faults import drop_this_connection

    key, raw = api_key_create(name="leaked-bot", scopes="trades:write")
    assert api_key_authenticate(raw) is not None
    remembered = services.memory.within(services.hash_key(raw), 60)  # this worker's memory
    assert remembered is not None
    api_key_revoke(key=ApiKey.objects.get(pk=key.pk))  # as another process does it
    services.memory.remember(services.hash_key(raw), remembered)
    drop_this_connection()
    assert api_key_authenticate(raw) is None  # 401, not a 202 into the spool
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_during_an_outage_of_the_database_and_the_cache_no_memory_is_trusted():
    """Without the revoked list nothing says the key was not revoked since this process
    verified it: refused as unverifiable (503, try again), never accepted."""
    from django.db import connection

    from apikeys import services
    from backoffice.core import cache_guard
    from tests.journal.test_faults import drop_this_connection

    _, raw = api_key_create(name="bot-in-a-double-outage", scopes="trades:write")
    assert api_key_authenticate(raw) is not None
    drop_this_connection()
    cache_guard.guard._failed("test", ConnectionError("Redis is down"))
    try:
        with pytest.raises(services.ApiKeyUnverifiable, match="shared cache"):
            api_key_authenticate(raw)
    finally:
        cache_guard.guard.reset()
        connection.close()
    # The cache back, the database still down: the key is accepted again.
    drop_this_connection()
    assert api_key_authenticate(raw).name == "bot-in-a-double-outage"
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_revocation_the_cache_missed_is_published_by_revoking_again(caplog):
    from apikeys import services
    from backoffice.core import cache_guard

    key, _ = api_key_create(name="revoked-in-a-cache-outage", scopes="trades:write")
    cache_guard.guard._failed("test", ConnectionError("Redis is down"))
    try:
        assert api_key_revoke(key=key) is True
    finally:
        cache_guard.guard.reset()
    assert "revoke it again once the cache answers" in caplog.text
    assert cache_guard.cache_get(services.REVOKED_PREFIX + key.key_hash) is None
    assert api_key_revoke(key=key) is False  # already revoked: published all the same
    assert cache_guard.cache_get(services.REVOKED_PREFIX + key.key_hash) is not None

"""API keys while the database is down: a key any worker verified lately still works."""

import pytest

from backoffice.models import ApiKey
from backoffice.services import api_key_authenticate, api_key_create, api_key_revoke


@pytest.mark.django_db(transaction=True)
def test_during_an_outage_a_key_verified_by_another_worker_is_accepted(settings):
    """Another worker verified the key (its record is in the shared cache); this worker
    never did. With the database down, the key is accepted, so its trades are spooled;
    a revoked key is not."""
    from django.db import connection

    from backoffice import services
    from tests.journal.test_faults import drop_this_connection

    key, raw = api_key_create(name="other-worker-bot", scopes="trades:write")
    _, revoked_raw = api_key_create(name="revoked-bot", scopes="trades:write")
    assert api_key_authenticate(raw) is not None
    services._recently_verified.clear()  # as if another worker had verified it
    drop_this_connection()
    accepted = api_key_authenticate(raw)
    connection.close()  # as the request's end does with a broken connection
    assert accepted is not None and accepted.name == "other-worker-bot"
    assert accepted.has_scope("trades:write") and not accepted.has_scope("predict")
    drop_this_connection()
    with pytest.raises(services.ApiKeyUnverifiable):
        api_key_authenticate(revoked_raw)  # never verified anywhere
    connection.close()
    # Revoking forgets the shared verification at once.
    api_key_revoke(key=ApiKey.objects.get(pk=key.pk))
    services._recently_verified.clear()
    drop_this_connection()
    with pytest.raises(services.ApiKeyUnverifiable):
        api_key_authenticate(raw)
    connection.close()

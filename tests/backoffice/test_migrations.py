"""Every model change has its migration (a moved model, a renamed field, a new choice).

Issue 28 moved the API key to an app of its own: the model's state moved by migrations
that touch no table. A model edited without its migration would leave production's schema
behind the code's; this test is ``makemigrations --check`` in the suite.
"""

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_no_model_change_lacks_its_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", check=True, dry_run=True, stdout=out, verbosity=1)
    except SystemExit:  # --check exits 1 when a migration is missing
        pytest.fail(f"models changed without a migration:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()

"""Shared fixtures and the tier rules of the suite.

`make test` runs three tiers (tests/harness/run.py) and says which through
BACKOFFICE_TEST_TIER. A bare `pytest` has no tier: it runs on whatever DATABASE_URL
names (SQLite by default) and skips, with a visible reason, what needs more.
"""

import os

import pytest

from tests import clock as test_clock

pytest_plugins = ["pytester"]  # tests of the suite's own hooks (tests/backoffice/test_clock.py)

TIER = os.environ.get("BACKOFFICE_TEST_TIER")  # postgres | timescale | sqlite | None


_session_clock = None


def pytest_configure(config):
    # Collection and the fixtures wider than a test read the test clock too: a module's
    # constant taken at import is at the default instant, never at today's date.
    global _session_clock
    _session_clock = test_clock.travel(test_clock.DEFAULT_INSTANT)
    _session_clock.__enter__()
    config.addinivalue_line(
        "markers",
        "clock(instant): the instant (ISO 8601 with offset) the test's clock starts at "
        "(tests/clock.py); the default is tests.clock.DEFAULT_INSTANT",
    )
    config.addinivalue_line(
        "markers",
        "real_clock(reason): the test reads the real clock, and says why",
    )


def pytest_unconfigure(config):
    if _session_clock is not None:
        _session_clock.__exit__(None, None, None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Every test, with the fixtures it sets up and tears down, runs on the test clock
    (tests/clock.py): at its ``clock`` marker's instant or the default, never today's
    date, unless it is marked ``real_clock`` with a reason."""
    real = item.get_closest_marker("real_clock")
    if real is not None:
        if not (real.args or real.kwargs.get("reason")):
            raise pytest.UsageError(f"{item.nodeid}: real_clock needs a reason")
        _session_clock.__exit__(None, None, None)
        try:
            yield
        finally:
            _session_clock.__enter__()
        return
    marker = item.get_closest_marker("clock")
    instant = marker.args[0] if marker else test_clock.DEFAULT_INSTANT
    with test_clock.travel(instant) as clock:
        item.stash[_CLOCK] = clock
        yield


_CLOCK = pytest.StashKey()


@pytest.fixture
def clock(request):
    """The test's clock (tests.clock.Clock): ``now()``, ``move_to(instant)``,
    ``shift(seconds)``; servers and commands started afterwards follow it."""
    found = request.node.stash.get(_CLOCK, None)
    if found is None:
        pytest.fail("this test is marked real_clock: it has no test clock")
    return found


def pytest_collection_modifyitems(config, items):
    if TIER is not None:
        return  # the harness selects with -m; nothing may be skipped silently
    has_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "timescale"))
    for item in items:
        if "timescale" in item.keywords:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs the TimescaleDB tier: run `make test` "
                    "(or TEST_TIMESCALE_URL=... make test for a native server)"
                )
            )
        elif "smoke" not in item.keywords and not has_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL and Redis: run `make test`"))


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    """Tests create many users; the production hasher's cost buys nothing here.

    In-process tests render pages without a collectstatic run, so they resolve static
    files unhashed; the gunicorn tests collect and serve the production way.
    """
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True, scope="session")
def _records_written_by_the_tests():
    """In-process tests write prediction records themselves (the runtime's recorder.flush(),
    on the test's own connection and transaction), so no writer thread holds a
    second connection: the TimescaleDB tier has one, and a thread's commits would
    outlive the test's rollback. A test of the writer thread turns it on itself; the
    servers the live tests start run it as production does."""
    from serving.predict.runtime import current

    current().recorder.background = False
    current().shadows.background = False  # the same for the challengers' shadow scores


@pytest.fixture(autouse=True, scope="session")
def _timescale_tier_guard(request, django_db_blocker):
    """In the TimescaleDB tier, the extension must be there: fail, never skip."""
    if TIER != "timescale":
        return
    from django.db import connection

    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
            row = cursor.fetchone()
    if row is None:
        settings_dict = connection.settings_dict
        pytest.exit(
            "timescale tier: the timescaledb extension is not installed on "
            f"{settings_dict['HOST']}:{settings_dict['PORT']}",
            returncode=3,
        )


@pytest.fixture(autouse=True)
def _fresh_instruments():
    """Each test reads the instruments of its own database (the lookup keeps them per
    process for half a minute, past a test's rolled-back rows)."""
    from journal import instruments

    instruments.forget()
    yield
    instruments.forget()


@pytest.fixture(autouse=True)
def _timescale_server_alive(request):
    """The npm TimescaleDB server exits when it crashes: say so instead of hanging."""
    pid = os.environ.get("TSDB_SERVER_PID")
    if pid and not _process_alive(int(pid)):
        pytest.exit(f"the TimescaleDB test server (pid {pid}) has died", returncode=3)
    yield


def _process_alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (the harness reaps it only later)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in {"Z", "X"}


@pytest.fixture
def staff_client(db, django_user_model):
    """A client of its own, logged in as a plain staff user (e.g. for /readyz's details)."""
    from django.test import Client

    staff = Client()
    staff.force_login(
        django_user_model.objects.create_user("ops-staff", password="x", is_staff=True)
    )
    return staff


@pytest.fixture(params=list(test_clock.AWKWARD_INSTANTS), ids=list(test_clock.AWKWARD_INSTANTS))
def awkward_clock(request, clock):
    """The test's clock at each awkward instant in turn (tests/clock.py): a module of
    date-dependent tests runs at all of them with
    ``pytestmark = pytest.mark.usefixtures("awkward_clock")``."""
    clock.move_to(test_clock.AWKWARD_INSTANTS[request.param])
    return clock

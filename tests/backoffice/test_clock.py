"""The suite's one clock (tests/clock.py): no test reads today's date.

Every test starts at the default instant (or its ``clock`` marker's), its clock runs as a
real one does, and the servers and commands it starts keep the same clock.
"""

import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from tests import clock as test_clock
from tests.support import REPO, clean_environment

pytestmark = pytest.mark.smoke

AT_IMPORT = datetime.now(UTC)  # collection runs on the test clock too


def test_a_test_starts_at_the_default_instant_and_its_clock_runs():
    started = datetime.now(UTC)
    assert abs(started - test_clock.DEFAULT_INSTANT) < timedelta(seconds=5)
    assert timezone.now() - started < timedelta(seconds=5)
    assert date.today() == test_clock.DEFAULT_INSTANT.date()
    before = time.time()
    time.sleep(0.05)
    assert time.time() - before >= 0.05  # timeouts and waits behave as they do for real


def test_module_constants_are_taken_on_the_test_clock():
    assert abs(AT_IMPORT - test_clock.DEFAULT_INSTANT) < timedelta(minutes=30)


@pytest.mark.clock("2028-02-29T23:59:30+00:00")
def test_a_marker_chooses_the_instant():
    assert datetime.now(UTC).date() == date(2028, 2, 29)


def test_the_clock_fixture_moves_and_children_follow(clock):
    clock.move_to(test_clock.AWKWARD_INSTANTS["year-end"])
    script = "from datetime import datetime, UTC; print(datetime.now(UTC).isoformat())"
    child = subprocess.run(
        [sys.executable, "-c", script],
        env=clean_environment(),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    seen = datetime.fromisoformat(child.stdout.strip())
    assert abs(seen - test_clock.AWKWARD_INSTANTS["year-end"]) < timedelta(seconds=30)


def test_the_awkward_instants_are_what_they_say():
    at = test_clock.AWKWARD_INSTANTS
    assert at["monday-before-open"].weekday() == 0 and at["monday-before-open"].hour < 7
    assert at["sunday"].weekday() == 6
    assert (at["month-end"] + timedelta(days=1)).day == 1
    assert (at["year-end"].month, at["year-end"].day) == (12, 31)
    assert (at["leap-day"].month, at["leap-day"].day) == (2, 29)
    assert at["midnight-utc"].time().isoformat() == "00:00:00"
    from zoneinfo import ZoneInfo

    for name, zone in (("eu", "Europe/London"), ("us", "America/New_York")):
        for change in ("starts", "ends"):
            moment = at[f"{name}-summer-time-{change}"]
            before = (moment - timedelta(minutes=1)).astimezone(ZoneInfo(zone)).utcoffset()
            after = (moment + timedelta(minutes=1)).astimezone(ZoneInfo(zone)).utcoffset()
            assert before != after, (name, change)


@pytest.mark.real_clock("checks that the real clock is there to escape to")
def test_a_test_marked_real_clock_reads_the_real_date():
    import time_machine

    assert not time_machine.escape_hatch.is_travelling()
    assert abs(datetime.now(UTC) - test_clock.DEFAULT_INSTANT) > timedelta(days=1)


def test_real_clock_without_a_reason_is_refused(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeconftest(
        "pytest_plugins = []\n"
        "from tests.conftest import pytest_configure, pytest_unconfigure, "
        "pytest_runtest_protocol\n"
    )
    pytester.makepyfile("import pytest\n@pytest.mark.real_clock\ndef test_bare():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider")
    assert "real_clock needs a reason" in result.stdout.str() + result.stderr.str()

"""The suite's one clock: every test runs at an instant it chooses, never at today's date.

``tests/conftest.py`` starts a time-machine traveller for every test at
``DEFAULT_INSTANT`` (a Wednesday afternoon in the markets' hours), with ``tick=True``: the
clock starts there and runs, so timeouts and waits behave as they do in production. A test
picks another instant with ``@pytest.mark.clock("2028-02-29T12:00:00Z")`` or moves it with
the ``clock`` fixture (``clock.move_to(...)``, ``clock.shift(...)``). A test that must read
the real clock says why: ``@pytest.mark.real_clock("reason")``; a bare marker fails.

Servers and commands that the tests start (gunicorn, Celery, ``manage.py``) get the same
clock: ``subprocess_environment()`` adds the offset of the test's clock from the real one
and puts ``tests/clock_site`` on ``PYTHONPATH``, whose ``sitecustomize`` starts the same
travel in the child before anything else runs.

``AWKWARD_INSTANTS`` are the moments date logic gets wrong: a Monday before the open, a
Sunday, the last day of a month and of a year, 29 February, both daylight-saving changes in
Europe and the US, midnight UTC. ``sweep`` parametrizes a test over them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

DEFAULT_INSTANT = datetime(2026, 6, 10, 13, 45, tzinfo=UTC)  # Wednesday, London/NY overlap

AWKWARD_INSTANTS = {
    "monday-before-open": datetime(2026, 6, 8, 5, 30, tzinfo=UTC),
    "sunday": datetime(2026, 6, 14, 15, 0, tzinfo=UTC),
    "month-end": datetime(2026, 4, 30, 23, 45, tzinfo=UTC),
    "year-end": datetime(2026, 12, 31, 23, 45, tzinfo=UTC),
    "leap-day": datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
    # Europe: 01:00 UTC on the last Sundays of March and October.
    "eu-summer-time-starts": datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    "eu-summer-time-ends": datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    # The US: 02:00 local on the second Sunday of March and the first of November.
    "us-summer-time-starts": datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    "us-summer-time-ends": datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    "midnight-utc": datetime(2026, 6, 16, 0, 0, tzinfo=UTC),
}

CLOCK_SITE = Path(__file__).resolve().parent / "clock_site"
OFFSET_VARIABLE = "BACKOFFICE_TEST_CLOCK_OFFSET"

# The offsets (test clock minus real clock, in seconds) of the travels under way, the
# innermost last: ``tick=True`` keeps each constant while it lasts.
_offsets: list[float] = []


class Clock:
    """A test's clock: ``now()``, and ``move_to`` / ``shift`` that children follow too."""

    def __init__(self, traveller: time_machine.Coordinates):
        self._traveller = traveller

    def now(self) -> datetime:
        return datetime.now(UTC)

    def move_to(self, destination: datetime | str) -> None:
        self._traveller.move_to(_instant(destination))
        _offsets[-1] = _offset_now()

    def shift(self, seconds: float) -> None:
        self._traveller.shift(seconds)
        _offsets[-1] = _offset_now()


def _instant(destination: datetime | str) -> datetime:
    if isinstance(destination, str):
        destination = datetime.fromisoformat(destination.replace("Z", "+00:00"))
    if destination.tzinfo is None:
        raise ValueError(f"a test's instant needs a time zone: {destination!r}")
    return destination


def _real_time() -> float:
    if not time_machine.escape_hatch.is_travelling():
        return time.time()
    return time_machine.escape_hatch.time.time()


def _real_now() -> datetime:
    if not time_machine.escape_hatch.is_travelling():
        return datetime.now(UTC)
    return time_machine.escape_hatch.datetime.datetime.now(UTC)


def _offset_now() -> float:
    return time.time() - _real_time()


class travel:  # noqa: N801 - used like time_machine.travel
    """Travel to ``destination`` (clock running) for a ``with`` block; children follow."""

    def __init__(self, destination: datetime | str, *, tick: bool = True):
        self._travel = time_machine.travel(_instant(destination), tick=tick)

    def __enter__(self) -> Clock:
        coordinates = self._travel.start()
        _offsets.append(_offset_now())
        return Clock(coordinates)

    def __exit__(self, *exc) -> None:
        _offsets.pop()
        self._travel.stop()


def subprocess_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child process that keeps the test's clock (unchanged when the test
    runs on the real clock)."""
    if not _offsets:
        env.pop(OFFSET_VARIABLE, None)
        return env
    env[OFFSET_VARIABLE] = repr(_offsets[-1])
    paths = [p for p in env.get("PYTHONPATH", "").split(":") if p and p != str(CLOCK_SITE)]
    env["PYTHONPATH"] = ":".join([str(CLOCK_SITE), *paths])
    return env


def sweep(argname: str = "instant"):
    """Parametrize a test over the awkward instants (ids: their names); the test moves
    its clock there itself (``clock.move_to(instant)``)."""
    return pytest.mark.parametrize(
        argname, list(AWKWARD_INSTANTS.values()), ids=list(AWKWARD_INSTANTS)
    )

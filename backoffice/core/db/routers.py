"""Reads that may go to a streaming replica: routed where they are made, never guessed.

The router does not choose by model. The same ``Trade`` rows are read by the dashboard
(which may be a few seconds old) and by the risk gate, the trade list after a review and
capture's duplicate check (which must see the latest write); a router that sent every
``Trade`` read to the replica would make those wrong, one that sent none would send
nothing. So the views that may read old data say so at their call site, with
``@reads_from_replica`` (or ``with replica_reads():``): the performance dashboard, the
trade export, the metrics API, the model-performance API and the model-health pages.
Everything else reads from the primary, as do:

- every write (``db_for_write``), and every read after a write in the same routed
  request (it must see its own write);
- every read inside a transaction on the primary (``transaction.atomic()``);
- every read of users, groups, permissions, sessions and API keys (``PRIMARY_ONLY_APPS``);
- every read while the replica is unreachable, not a standby, or more than
  DATABASE_REPLICA_MAX_LAG_SECONDS behind (backoffice.core.db.replica); the page then says
  so (``request.read_route.notice``, shown by templates/admin/base_site.html) and every
  routed answer names its source in the ``X-Read-From`` header.

Raw SQL of the routed reads (journal.analytics) takes its connection from
``read_connection``, which is the replica's inside a routed block and the primary's
everywhere else. A read on the replica that fails (the replica went away between two
looks) is answered again from the primary: a page never fails because of the replica.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.template.response import TemplateResponse

from backoffice.core.db import replica

REPLICA = replica.REPLICA


@dataclass
class ReadRoute:
    """Where the reads of one routed block go, and why."""

    alias: str
    why_primary: str = ""
    lag_seconds: float | None = None
    wrote: bool = False  # a write happened in the block: later reads stay on the primary

    @property
    def notice(self) -> str:
        """The line a page shows when it was read from the primary instead ("" if not)."""
        if self.alias == REPLICA:
            return ""
        return f"Read from the primary: {self.why_primary}."

    @property
    def header(self) -> str:
        """The ``X-Read-From`` value: ``replica``, or ``primary`` and why."""
        if self.alias == REPLICA:
            return "replica"
        return f"primary; {self.why_primary}"


_route: ContextVar[ReadRoute | None] = ContextVar("backoffice_read_route", default=None)


def current_read_alias() -> str:
    """The database alias reads go to here: the replica only inside a routed block
    whose route chose it, with no write and no transaction on the primary under way."""
    route = _route.get()
    if route is None or route.alias != REPLICA or route.wrote:
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


# Who may do what is read from the primary even inside a routed block: a permission
# taken away, a session ended or an API key revoked a moment ago must count at once.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin", "backoffice"})


class ReplicaRouter:
    """DATABASE_ROUTERS entry (installed when DATABASE_REPLICA_URL is set)."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        return current_read_alias()

    def db_for_write(self, model, **hints):
        route = _route.get()
        if route is not None:
            route.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The same database, seen from two places.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica replays the primary's migrations; it is never migrated itself.
        return db == DEFAULT_DB_ALIAS


def choose_route() -> ReadRoute:
    """The replica when it is usable now, else the primary with the reason."""
    state = replica.replica_state()
    if state.usable:
        return ReadRoute(alias=REPLICA, lag_seconds=state.lag_seconds)
    return ReadRoute(
        alias=DEFAULT_DB_ALIAS, why_primary=state.why_not, lag_seconds=state.lag_seconds
    )


@contextmanager
def replica_reads(route: ReadRoute | None = None):
    """Send the block's reads to the replica where it is usable; yields the route (None
    when no replica is configured: everything reads from the primary as before)."""
    if route is None and replica.configured():
        route = choose_route()
    token = _route.set(route)
    try:
        yield route
    finally:
        _route.reset(token)


def reads_from_replica(view):
    """Decorate a read-only view (a function or a method whose arguments include the
    request): its GET and HEAD reads go to the replica where it is usable.

    A template response is rendered inside the block and a streamed one is read inside
    it, so that their lazy queries follow the route too. When a read on the replica
    fails and the replica is found unreachable, the view is answered again from the
    primary."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        request = _request_in(args)
        if not replica.configured() or request is None or request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        with replica_reads() as route:
            _remember(request, route)
            try:
                response = _answer(view, args, kwargs)
            except (OperationalError, InterfaceError):
                if route.alias != REPLICA or replica.replica_state(fresh=True).reachable:
                    raise
                route = ReadRoute(
                    alias=DEFAULT_DB_ALIAS, why_primary="the replica cannot be reached"
                )
                _remember(request, route)
                with replica_reads(route):
                    response = _answer(view, args, kwargs)
        if getattr(response, "streaming", False):
            response.streaming_content = _within(route, response.streaming_content)
        return _labelled(response, route)

    return wrapped


def _answer(view, args, kwargs):
    response = view(*args, **kwargs)
    # A page (not a DRF answer, whose data is read already and rendered by DRF).
    if isinstance(response, TemplateResponse) and not response.is_rendered:
        response.render()
    return response


def _request_in(args):
    for arg in args:
        if hasattr(arg, "method") and hasattr(arg, "META"):
            return arg
    return None


def _remember(request, route: ReadRoute | None) -> None:
    # On Django's request (under DRF's too), where templates find it.
    getattr(request, "_request", request).read_route = route


def _labelled(response, route: ReadRoute):
    response["X-Read-From"] = route.header
    return response


def _within(route: ReadRoute, chunks):
    """Iterate ``chunks`` with the route in force for each step (a streamed export
    runs its queries while the server sends it, after the view has returned)."""
    iterator = iter(chunks)
    while True:
        token = _route.set(route)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _route.reset(token)
        yield chunk


class ReadConnection:
    """``django.db.connection`` for the raw SQL of routed reads: the replica's
    connection inside a routed block that chose it, the primary's everywhere else."""

    def __getattr__(self, name):
        return getattr(connections[current_read_alias()], name)

    def __setattr__(self, name, value):
        setattr(connections[current_read_alias()], name, value)


read_connection = ReadConnection()

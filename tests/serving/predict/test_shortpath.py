"""The predict route's short path (serving.predict.shortpath) answers as the long way does.

Every request here goes through the WSGI application gunicorn runs
(backoffice.wsgi.application), in-process, on the tier's PostgreSQL and Redis, against
a real XGBoost model. A request is sent twice: once with the short path on, once with
SERVING_SHORT_PATH off (DRF's dispatch); the two answers must agree in status, body and
headers, save the ids and timings that differ on every request. The short path's own
counter says which way a request went, so that a case meant for the short path cannot
quietly go the long way (and the other way round).
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apikeys.models import ApiKey
from apikeys.services import api_key_create
from serving.models import PredictionRecord
from serving.predict.auth import forget_keys
from serving.predict.runtime import current
from tests.wsgi import call

pytestmark = pytest.mark.django_db

PATH = "/api/v1/models/edge-xgb/predict"
# Differ on every request by design.
VARYING_HEADERS = {"X-Request-ID", "X-Prediction-Id", "Server-Timing"}


@pytest.fixture
def application():
    from backoffice.wsgi import application

    return application


@pytest.fixture
def short(application):
    return application.api  # the ShortPath in front of the API's handler


def new_key(*scopes: str, name: str = "bot-short") -> str:
    _, raw = api_key_create(name=name, scopes=list(scopes))
    return f"Api-Key {raw}"


@pytest.fixture
def key(application, xgb, settings):
    """A predict key this worker has verified once (the long way), as a bot's is.

    Remembered for a minute: the default second ran out in the middle of a hypothesis
    run on a busy machine, and the request after it rightly went the long way."""
    settings.SERVING_KEY_CACHE_SECONDS = 60
    forget_keys()
    header = new_key("predict")
    trained, _ = xgb
    status, _, content = send(application, {"inputs": trained.probe.tolist()}, header)
    assert status == 200, content
    return header


def send(application, body, authorization, *, raw: bytes | None = None, **kwargs):
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Authorization": authorization, **kwargs.pop("headers", {})}
    return call(
        application, kwargs.pop("path", PATH), method="POST", body=data, headers=headers, **kwargs
    )


def both_ways(application, short, settings, *args, **kwargs):
    """(short answer, long answer, whether the first went the short way)."""
    before = short.answered
    settings.SERVING_SHORT_PATH = True
    first = send(application, *args, **kwargs)
    took_short = short.answered == before + 1
    settings.SERVING_SHORT_PATH = False
    second = send(application, *args, **kwargs)
    assert short.answered == before + took_short  # the switch is obeyed
    settings.SERVING_SHORT_PATH = True
    return first, second, took_short


def comparable(answer):
    status, headers, content = answer
    # A 500's detail quotes the request's id.
    content = content.replace(headers.get("X-Request-ID", "-").encode(), b"<request id>")
    body = json.loads(content) if content else None
    if isinstance(body, dict) and "predictions" in body:
        # Ids differ per request; the second of two identical requests is a cache hit.
        body = {k: v for k, v in body.items() if k not in {"prediction_ids", "cached"}}
    varying = VARYING_HEADERS | (
        {"Content-Length"} if isinstance(body, dict) and "model" in body else set()
    )
    header_set = {name: ("*" if name in varying else value) for name, value in headers.items()}
    return status, body, header_set


def assert_same(first, second):
    assert comparable(first) == comparable(second)


ROWS = [[61.2, 0.35, 0.8, 0.72, 1.2]]  # the model's five features, in order

# Requests a bot (or a fuzzer) sends with a remembered key: each is answered the short
# way, with the long way's status, body and headers. (query, body or raw bytes)
SHORT_CASES = {
    "inputs": ("", {"inputs": ROWS}),
    "by alias": ("alias=production", {"inputs": ROWS}),
    "by version": ("version=1", {"inputs": ROWS}),
    "unknown alias": ("alias=nowhere", {"inputs": ROWS}),
    "unknown version": ("version=99", {"inputs": ROWS}),
    "version not a number": ("version=1.5", {"inputs": ROWS}),
    "version huge": ("version=" + "9" * 40, {"inputs": ROWS}),
    "alias and version": ("alias=production&version=1", {"inputs": ROWS}),
    "alias not a slug": ("alias=%3Cscript%3E", {"inputs": ROWS}),
    "other parameters": ("x=1&y=%3Cb%3E", {"inputs": ROWS}),
    "empty object": ("", {}),
    "both forms": ("", {"inputs": ROWS, "instances": [{"f0": 1}]}),
    "wrong type": ("", {"inputs": "rows"}),
    "short row": ("", {"inputs": [[1.0, 2.0]]}),
    "strings": ("", {"inputs": [["1", "2", "3", "4", "5"]]}),
    "booleans": ("", {"inputs": [[True, False, True, False, True]]}),
    "nulls": ("", {"inputs": [[None] * 5]}),
    "huge number": ("", {"inputs": [[1e308, -1e308, 0, 0, 0]]}),
    "huge integer": ("", {"inputs": [[10**400, 0, 0, 0, 0]]}),
    "unknown feature": ("", {"instances": [{"nope": 1.0}]}),
    "array body": ("", [1, 2, 3]),
    "NaN token": ("", b'{"inputs": [[NaN, 0, 0, 0, 0]]}'),
    "Infinity token": ("", b'{"inputs": [[Infinity, 0, 0, 0, 0]]}'),
    "overflowing literal": ("", b'{"inputs": [[1e999, 0, 0, 0, 0]]}'),
    "NUL in a string": ("", b'{"instances": [{"rsi_14\\u0000": 1}]}'),
    "lone surrogate": ("", b'{"instances": [{"\\ud800": 1}]}'),
    "not UTF-8": ("", b'{"inputs": [[\xff\xfe]]}'),
    "malformed": ("", b'{"inputs": [[1, 2,'),
    "deep nesting": ("", b"[" * 5000 + b"]" * 5000),
    "year 9999": ("", {"instances": [{"rsi_14": "9999-12-31T23:59:59Z"}]}),
}


@pytest.mark.parametrize("case", SHORT_CASES)
def test_each_request_of_a_remembered_key_is_answered_the_short_way_as_the_long_way(
    application, short, settings, key, case
):
    query, body = SHORT_CASES[case]
    raw = body if isinstance(body, bytes) else None
    first, second, took_short = both_ways(
        application, short, settings, body, key, raw=raw, query=query
    )
    assert took_short, case
    assert first[0] < 500, first
    assert_same(first, second)


@pytest.mark.parametrize("name", ["no-such-model", "m" * 300, "_-_"])
def test_an_unknown_model_is_the_same_404_either_way(application, short, settings, key, name):
    first, second, took_short = both_ways(
        application, short, settings, {"inputs": ROWS}, key, path=f"/api/v1/models/{name}/predict"
    )
    assert took_short
    assert first[0] == 404
    assert_same(first, second)


def test_a_prediction_is_the_models_own_number_with_every_header_of_the_api(
    application, short, settings, key, xgb
):
    import numpy as np

    trained, _ = xgb
    first, second, took_short = both_ways(
        application, short, settings, {"inputs": trained.probe.tolist()}, key
    )
    assert took_short
    status, headers, content = first
    assert status == 200
    np.testing.assert_allclose(json.loads(content)["predictions"], trained.expected, atol=1e-6)
    assert_same(first, second)
    for name in (
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
        "Content-Security-Policy",
        "Server-Timing",
        "X-Prediction-Id",
        "X-Request-ID",
        "Content-Length",
    ):
        assert name in headers, name
    assert [part.split(";")[0] for part in headers["Server-Timing"].split(", ")] == [
        "parse",
        "cache",
        "predict",
        "render",
    ]


# Requests the short path leaves to the long way, before reading or counting anything;
# (what to send, the status the long way answers).
def _long_cases() -> dict:
    """Per case: (call's arguments, the status, whether the answer is the API's JSON)."""
    return {
        "no key": ({"headers": {"Authorization": ""}}, 401, True),
        "wrong key": ({"headers": {"Authorization": "Api-Key bo_not-a-key"}}, 401, True),
        "bearer scheme": ({"headers": {"Authorization": "Bearer abc"}}, 401, True),
        "text/plain": ({"content_type": "text/plain"}, 415, True),
        "form body": ({"content_type": "application/x-www-form-urlencoded"}, 415, True),
        "Accept: text/html": ({"headers": {"Accept": "text/html"}}, 406, True),
        "NUL in the query": ({"query": "alias=a%00b"}, 400, True),
        "no Content-Length": ({"environ_extra": {"CONTENT_LENGTH": None}}, 400, True),
        "body beyond the limit": (
            {"body": b'{"inputs": [' + b" " * (1024 * 1024) + b"]}"},
            413,
            True,
        ),
        "DRF's ?format= naming no renderer": ({"query": "format=csv"}, 404, True),
        "DRF's ?format=json": ({"query": "format=json"}, 200, True),
        "Host not allowed": ({"headers": {"Host": "evil.example"}}, 400, False),
        "too many query parameters": ({"query": "&".join(["a=1"] * 1001)}, 400, False),
        "GET": ({"method": "GET", "body": b""}, 405, True),
        "trailing slash": ({"path": PATH + "/"}, 404, True),
        # PATH_INFO as WSGI gives it: the UTF-8 bytes of "modéle" as Latin-1.
        "non-ASCII model name": ({"path": "/api/v1/models/mod\u00e9le/predict"}, 404, True),
    }


@pytest.mark.parametrize("case", list(_long_cases()))
def test_what_the_short_path_does_not_take_goes_the_long_way(
    application, short, settings, key, case
):
    settings.SERVING_SHORT_PATH = True
    settings.SERVING_MAX_BODY_MB = 1
    kwargs, status, api_json = _long_cases()[case]
    kwargs = dict(kwargs)
    headers = {"Authorization": key, **kwargs.pop("headers", {})}
    if not headers["Authorization"]:
        headers.pop("Authorization")
    before = short.answered
    answer = call(
        application,
        kwargs.pop("path", PATH),
        method=kwargs.pop("method", "POST"),
        body=kwargs.pop("body", json.dumps({"inputs": ROWS}).encode()),
        headers=headers,
        **kwargs,
    )
    assert short.answered == before, case
    assert answer[0] == status, (case, answer)
    if api_json and status != 200:
        assert json.loads(answer[2])["code"], answer  # the API's one error body


def test_the_control_case_is_short(application, short, key):
    before = short.answered
    assert send(application, {"inputs": ROWS}, key)[0] == 200
    assert short.answered == before + 1


def test_a_key_without_the_predict_scope_or_a_staff_session_goes_the_long_way(
    application, short, xgb, django_user_model
):
    reader = new_key("trades:read", name="reader-short")
    for _ in range(2):  # verified, then remembered: still refused, the long way
        before = short.answered
        status, _, content = send(application, {"inputs": ROWS}, reader)
        assert (status, short.answered) == (403, before), content
    from django.test import Client

    user = django_user_model.objects.create_superuser("ops-short", password="pw-ops-short-1")
    client = Client()
    client.force_login(user)
    before = short.answered
    status, _, _ = call(
        application,
        PATH,
        method="POST",
        body=json.dumps({"inputs": ROWS}).encode(),
        cookies={"sessionid": client.cookies["sessionid"].value},
    )
    assert short.answered == before
    assert status == 403  # a session writing through the API needs its CSRF token


def test_a_revoked_key_stops_when_its_memory_ends(application, short, settings, key):
    settings.SERVING_KEY_CACHE_SECONDS = 60
    ApiKey.objects.filter(name="bot-short").update(revoked_at="2026-01-01T00:00:00Z")
    assert send(application, {"inputs": ROWS}, key)[0] == 200  # remembered, as documented
    forget_keys()
    before = short.answered
    assert send(application, {"inputs": ROWS}, key)[0] == 401
    assert short.answered == before
    settings.SERVING_KEY_CACHE_SECONDS = 0  # no memory: every request is verified
    other = new_key("predict", name="bot-unremembered")
    for _ in range(2):
        assert send(application, {"inputs": ROWS}, other)[0] == 200
    assert short.answered == before


@pytest.fixture
def fresh_throttle_keys(settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}"}
    }
    # The stamps under the new prefix, read as a worker that has served before: one that
    # first saw them in a request would forget its keys then (a revocation stamp that
    # changed, or vanished as when Redis loses its keys, apikeys.key_memory).
    current().resolver.check_stamps(force=True)


def test_the_throttle_counts_each_request_once_either_way(
    application, short, settings, xgb, fresh_throttle_keys
):
    settings.SERVING_PREDICT_RATE = "3/h"
    settings.SERVING_KEY_CACHE_SECONDS = 60  # the short ones must not depend on the clock
    forget_keys()
    header = new_key("predict", name="bot-throttled")
    before = short.answered
    answers = [send(application, {"inputs": ROWS}, header) for _ in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    # The first was verified the long way, the next two were short; the 429s are the
    # long way's, with its body and Retry-After.
    assert short.answered == before + 2
    refused = answers[3]
    assert json.loads(refused[2])["code"] == "throttled"
    assert int(refused[1]["Retry-After"]) > 0


def test_a_bug_is_the_long_ways_500_and_is_logged(
    application, short, settings, key, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the service")

    monkeypatch.setattr("serving.predict.api.prediction_make", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        first, second, took_short = both_ways(application, short, settings, {"inputs": ROWS}, key)
    assert took_short
    assert first[0] == second[0] == 500
    assert_same(first, second)
    assert "a bug in the service" not in first[2].decode()
    assert sum("Internal Server Error" in r.getMessage() for r in caplog.records) == 2


def test_the_request_is_logged_counted_and_recorded_as_the_long_way_does(
    application, short, settings, key, caplog
):
    current().recorder.flush()
    PredictionRecord.objects.all().delete()
    with caplog.at_level(logging.INFO):
        for enabled in (True, False):
            settings.SERVING_SHORT_PATH = enabled
            status, headers, _ = send(
                application,
                {"inputs": [[float(enabled), 0.35, 0.8, 0.72, 1.2]]},  # each a cache miss
                key,
                headers={"X-Request-ID": f"req-short-{enabled}", "User-Agent": "bot/1"},
            )
            assert status == 200
            assert headers["X-Request-ID"] == f"req-short-{enabled}"
    assert current().recorder.flush() == 2

    def lines(request_id):
        return {
            r.getMessage(): {
                k: v
                for k, v in vars(r).items()
                if k in {"status", "user", "path", "method", "user_agent", "model", "cache"}
            }
            for r in caplog.records
            if getattr(r, "request_id", None) == request_id
        }

    short_lines, long_lines = lines("req-short-True"), lines("req-short-False")
    assert set(short_lines) == set(long_lines) == {"prediction", "request finished"}
    assert short_lines["request finished"]["user"] == "api-key:bot-short"
    assert short_lines == long_lines
    records = {r.request_id: r for r in PredictionRecord.objects.all()}
    assert set(records) == {"req-short-True", "req-short-False"}
    assert {r.api_key for r in records.values()} == {"bot-short"}


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
ROW = st.lists(
    st.one_of(
        st.floats(allow_nan=False, width=32), st.integers(-5, 5), st.none(), st.text(max_size=3)
    ),
    min_size=0,
    max_size=8,
)
BODIES = st.one_of(
    st.fixed_dictionaries({"inputs": st.lists(ROW, max_size=3)}),
    st.fixed_dictionaries(
        {
            "instances": st.lists(
                st.dictionaries(
                    st.sampled_from(
                        ["rsi_14", "macd_hist", "atr_pct", "trend_strength", "spread_bps", "x"]
                    ),
                    JSON_VALUES,
                    max_size=7,
                ),
                max_size=3,
            )
        }
    ),
    JSON_VALUES,
)
QUERIES = st.one_of(
    st.just(""),
    st.sampled_from(["alias=production", "version=1", "version=0", "alias=", "version=-1"]),
    st.text(alphabet="av=&%lis0123456789x", max_size=20),
)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES, query=QUERIES)
def test_any_body_and_query_get_the_same_answer_both_ways(
    application, short, settings, key, body, query
):
    raw = json.dumps(body, allow_nan=True).encode()  # NaN and Infinity as their tokens
    first, second, took_short = both_ways(
        application, short, settings, None, key, raw=raw, query=query
    )
    assert took_short == ("%00" not in query.upper())
    assert first[0] < 500, first
    assert_same(first, second)


@pytest.mark.parametrize(
    ("query", "body"),
    [("", {"inputs": ROWS}), ("version=x", {"inputs": ROWS}), ("", {"inputs": "x"})],
)
def test_each_way_logs_the_same_lines(application, settings, key, caplog, query, body):
    def lines(short_path):
        settings.SERVING_SHORT_PATH = short_path
        request_id = f"lines-{short_path}"
        caplog.clear()
        with caplog.at_level(logging.INFO):
            send(application, body, key, query=query, headers={"X-Request-ID": request_id})
        return [
            (r.name, r.levelname, r.getMessage().replace(request_id, "<id>"))
            for r in caplog.records
            if getattr(r, "request_id", "") == request_id
            or getattr(getattr(r, "request", None), "request_id", "") == request_id
        ]

    short_lines = lines(True)
    assert short_lines == lines(False)
    assert short_lines[-1][2] == "request finished"


@pytest.mark.parametrize("short_path", [True, False])
def test_the_lines_of_a_request_are_written_once_its_answer_is_sent(
    application, settings, key, caplog, short_path
):
    # A bot waits for its prediction, not for the log lines about it: both lines are
    # written when the server closes the answer, in their order, with the request's id.
    settings.SERVING_SHORT_PATH = short_path
    request_id = f"after-close-{short_path}"
    seen_before_close = []

    def mine():
        return [
            r.getMessage() for r in caplog.records if getattr(r, "request_id", "") == request_id
        ]

    with caplog.at_level(logging.INFO):
        status, _, _ = send(
            application,
            {"inputs": ROWS},
            key,
            headers={"X-Request-ID": request_id},
            before_close=lambda: seen_before_close.extend(mine()),
        )
    assert status == 200
    assert seen_before_close == []
    assert mine() == ["prediction", "request finished"]
    finished = [r for r in caplog.records if r.getMessage() == "request finished"][-1]
    assert (finished.status, finished.user) == (200, "api-key:bot-short")

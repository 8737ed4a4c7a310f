"""The `make test` harness: what fails a tier, and servers that cannot start."""

import socket

import pytest

from tests.harness import services
from tests.harness.run import evaluate

pytestmark = pytest.mark.smoke


def junit(tmp_path, *, tests, failures=0, skipped=0):
    cases = "".join(
        f'<testcase classname="t" name="case{i}">'
        + ('<skipped message="needs TimescaleDB"/>' if i < skipped else "")
        + "</testcase>"
        for i in range(tests)
    )
    path = tmp_path / "r.xml"
    path.write_text(
        f'<testsuites><testsuite name="x" tests="{tests}" failures="{failures}" '
        f'errors="0" skipped="{skipped}">{cases}</testsuite></testsuites>'
    )
    return path


def test_a_clean_tier_is_ok(tmp_path):
    result = evaluate("postgres", 0, junit(tmp_path, tests=3))
    assert result.ok and result.passed == 3


def test_a_tier_that_ran_no_test_fails(tmp_path):
    result = evaluate("sqlite", 5, junit(tmp_path, tests=0))
    assert not result.ok
    assert "ran no test" in result.problems


def test_a_skipped_timescale_test_fails_the_timescale_tier(tmp_path):
    result = evaluate("timescale", 0, junit(tmp_path, tests=2, skipped=1))
    assert not result.ok
    assert result.skipped_tests == ["t::case0: needs TimescaleDB"]


def test_a_skip_elsewhere_is_reported_but_allowed(tmp_path):
    result = evaluate("postgres", 0, junit(tmp_path, tests=2, skipped=1))
    assert result.ok and result.skipped == 1


def test_pytest_crashing_without_results_fails(tmp_path):
    result = evaluate("postgres", 3, tmp_path / "missing.xml")
    assert not result.ok
    assert "pytest wrote no results" in result.problems


def test_a_taken_port_stops_the_timescale_server_with_its_name(monkeypatch):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        monkeypatch.setattr(services, "free_port", lambda: port)
        try:
            server = services.TimescaleServer()
        except services.ServiceError as exc:  # npm packages absent: also a named failure
            pytest.fail(f"the npm packages should be installed by make test: {exc}")
        with pytest.raises(services.ServiceError, match=rf"TimescaleDB test server.*{port}"):
            server.start()


def test_missing_npm_packages_are_named(monkeypatch, tmp_path):
    monkeypatch.setattr(services.TimescaleServer, "SCRIPT", tmp_path / "server.mjs")
    with pytest.raises(services.ServiceError, match="npm packages missing"):
        services.TimescaleServer()


def test_a_secret_in_any_server_log_file_is_found_by_file_name(tmp_path):
    from tests.harness.run import count_files, files_showing

    logs = tmp_path / "server-logs"
    (logs / "nested").mkdir(parents=True)
    (logs / "gunicorn-1.log").write_text('{"message": "clean"}\n')
    (logs / "nested" / "gunicorn-2.log").write_text('{"message": "key=s3cr3t-value-xyz"}\n')
    redis_log = tmp_path / "redis.log"
    redis_log.write_bytes(b"\xff binary s3cr3t-value-xyz")
    assert count_files([logs, redis_log]) == 3
    assert files_showing([logs, redis_log], ["s3cr3t-value-xyz"]) == [
        "gunicorn-2.log",
        "redis.log",
    ]
    assert files_showing([logs], ["another-secret"]) == []

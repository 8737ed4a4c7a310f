"""Benchmark: how the web tier should hold its PostgreSQL connections.

Compares, on a throwaway PostgreSQL cluster (or DATABASE_URL), Django's request cycle
(request_started, three queries, request_finished) in-process:
  new        CONN_MAX_AGE=0: a new connection per request (the baseline)
  persistent CONN_MAX_AGE=60 with CONN_HEALTH_CHECKS (the project's default)
  pool       Django 5.2's psycopg_pool (DB_POOL_MAX_SIZE)
each with 1 thread (a sync gunicorn worker) and with 4 threads (a gthread worker).

Run: .venv/bin/python -m bench.db_connections [--requests 2000]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = {
    "new": {"DB_CONN_MAX_AGE": "0"},
    "persistent": {"DB_CONN_MAX_AGE": "60"},
    "pool": {"DB_POOL_MAX_SIZE": "4", "DB_POOL_MIN_SIZE": "4"},
}


def child(requests: int, threads: int) -> dict:
    """Runs inside a configured process: Django's request cycle around three queries.

    request_started / request_finished are what close_old_connections hangs on, so each
    mode opens, reuses or returns connections exactly as under gunicorn. (Django's test
    Client disconnects that handler, which would hide the difference.)
    """
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.core.signals import request_finished, request_started
    from django.db import connection
    from django.db.backends.signals import connection_created

    opened = []
    connection_created.connect(lambda **kw: opened.append(1), weak=False)
    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    connection.close()
    opened.clear()
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one_request():
        request_started.send(sender=None)
        try:
            Session.objects.filter(session_key="missing").first()
            get_user_model().objects.get(pk=user.pk)
            list(user.get_all_permissions())
        finally:
            request_finished.send(sender=None)

    def worker(count: int):
        try:
            for _ in range(count):
                started = time.perf_counter()
                one_request()
                with lock:
                    latencies.append(time.perf_counter() - started)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    per_thread = requests // threads
    pool = [threading.Thread(target=worker, args=(per_thread,)) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    latencies.sort()
    return {
        "requests_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "connections_opened": len(opened),
    }


def run_mode(env: dict, requests: int, threads: int) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.db_connections",
            "--child",
            "--requests",
            str(requests),
            "--threads",
            str(threads),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench child failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.requests, args.threads)))
        return

    sys.path.insert(0, str(REPO))
    from tests.harness.services import PostgresCluster

    cluster = None
    base = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 60),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "WARNING",
    }
    if not os.environ.get("DATABASE_URL"):
        cluster = PostgresCluster(name="bench").up()
        base["DATABASE_URL"] = cluster.url()
    try:
        for command in (["migrate", "--noinput"],):
            subprocess.run(
                [sys.executable, "manage.py", *command, "-v", "0"],
                env=base,
                cwd=REPO,
                check=True,
            )
        rows = []
        for threads in (1, 4):
            for mode, extra in MODES.items():
                figures = run_mode({**base, **extra}, args.requests, threads)
                rows.append((mode, threads, figures))
        baseline = {t: f["requests_per_s"] for m, t, f in rows if m == "new"}
        print(f"\nrequest cycle with 3 queries, {args.requests} requests per run, in-process")
        print(
            f"{'mode':<11} {'threads':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'setups':>6} {'vs new':>7}"
        )
        for mode, threads, f in rows:
            print(
                f"{mode:<11} {threads:>7} {f['requests_per_s']:>8.0f} {f['p50_ms']:>8.2f} "
                f"{f['p99_ms']:>8.2f} {f['connections_opened']:>6} "
                f"{f['requests_per_s'] / baseline[threads]:>6.2f}x"
            )
    finally:
        if cluster:
            cluster.destroy()


if __name__ == "__main__":
    main()

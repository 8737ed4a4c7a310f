"""gunicorn configuration: workers, threads and timeouts from the environment, JSON logs.

Run with `gunicorn -c backoffice/gunicorn.conf.py backoffice.wsgi:application`
(`make serve`). The README's configuration table lists the GUNICORN_* variables.
"""

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

from pathlib import Path

from gunicorn import glogging

from backoffice.core import env
from backoffice.core.ops import logconf

# Prometheus' multiprocess mode (backoffice/core/ops/prometheus.py): every worker writes its
# figures under this directory and a scrape sums them. Set before any worker imports
# prometheus_client, which reads it at import; emptied in on_starting.
_VAR_DIR = Path(os.environ.get("BACKOFFICE_VAR_DIR") or Path(__file__).resolve().parents[1] / "var")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_VAR_DIR / "prometheus"))

bind = env.text("GUNICORN_BIND", "0.0.0.0:8000")
# gunicorn's docs start from 2 x cores + 1; sync workers suit CPU-bound prediction.
workers = env.integer("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1, minimum=1)
threads = env.integer("GUNICORN_THREADS", 1, minimum=1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = env.integer("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = env.integer("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=1)
keepalive = env.integer("GUNICORN_KEEPALIVE", 2, minimum=0)
# Recycle workers now and then so that slow leaks cannot grow without bound.
max_requests = env.integer("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = env.integer("GUNICORN_MAX_REQUESTS_JITTER", 0, minimum=0)
# Trust X-Forwarded-* only from the proxy in front.
forwarded_allow_ips = env.text("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "backoffice"
# No control socket: nothing here uses it, and it would write under $HOME.
control_socket_disable = True

# Logging: the project's JSON configuration for gunicorn.error and gunicorn.access.
loglevel = env.text("LOG_LEVEL", "INFO").lower()
accesslog = None  # no plain-text handler; gunicorn.access goes through logconfig_dict
errorlog = "-"
logconfig_dict = logconf.dict_config(loglevel.upper())


class _Logger(glogging.Logger):
    """gunicorn's logger, with its access line only when GUNICORN_ACCESS_LOG is on.

    Every request already has its line from Django (backoffice.core.http.middleware: request id,
    user, status, duration, client address, user agent, size). gunicorn's repeats it at
    about a tenth of a small request's CPU; turn it on to also see requests that never
    reach Django.
    """

    access_enabled = env.flag("GUNICORN_ACCESS_LOG", False)

    def access(self, resp, req, environ, request_time):
        if self.access_enabled:
            super().access(resp, req, environ, request_time)


logger_class = _Logger

# A record's source file, line, thread and process are looked up for every line (a frame
# walk and three calls); the JSON line never writes them (backoffice.core.ops.logconf), so the
# servers skip the lookups, as Python's logging HOWTO ("Optimization") describes. Two
# lines are written for every prediction.
logging._srcfile = None
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False


def on_starting(server):
    """Refuse to start on a bad configuration, with one line naming the cause."""
    from backoffice.startup import check_configuration

    problem = check_configuration()
    if problem:
        server.log.error("configuration error: %s", problem)
        sys.exit(2)
    try:
        _reset_metrics_directory()
    except OSError as exc:
        server.log.error(
            "configuration error: PROMETHEUS_MULTIPROC_DIR=%s cannot be used: %s",
            os.environ["PROMETHEUS_MULTIPROC_DIR"],
            exc.strerror,
        )
        sys.exit(2)


def _reset_metrics_directory():
    """The figures of an earlier run's workers must not be summed into this one's."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker):
    """A worker's gauges die with it; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """Each worker checks its database once, so an outage shows in the log at start."""
    from backoffice.startup import warn_if_database_unreachable

    warn_if_database_unreachable(server.log)


def post_worker_init(worker):
    """Each worker loads the production models before its first request."""
    from serving.predict.runtime import current

    current().warm()


def worker_exit(server, worker):
    """The worker's queued prediction records are written before it goes (2 s at most)."""
    from serving.predict.runtime import current

    current().recorder.stop(timeout=2.0)

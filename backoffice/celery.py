"""The job engine: a Celery worker and beat on the Redis broker.

The periodic jobs of every app are listed in settings.CELERY_BEAT_SCHEDULE and live in
each app's ``tasks.py`` (the spool drain and the summary compaction: journal.tasks).
docker-compose.yml runs them as its ``worker`` and ``beat`` services:

    celery -A backoffice worker    # runs the jobs
    celery -A backoffice beat      # schedules them
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

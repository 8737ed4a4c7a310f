# The job engine's app is the current one in every process (Celery's Django layout), so
# the apps' tasks (@shared_task) and their callers reach it without importing the project.
from backoffice.celery import app as celery_app

__all__ = ("celery_app",)

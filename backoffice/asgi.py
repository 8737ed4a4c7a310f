"""ASGI entry point (the project is served by gunicorn's WSGI workers; kept for tools)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

application = get_asgi_application()

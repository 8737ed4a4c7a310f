"""WSGI entry point for gunicorn (see backoffice/gunicorn.conf.py).

Pages go through Django's handler with settings.MIDDLEWARE; /api/v1/ goes through the
same URLs and views with the shorter settings.API_MIDDLEWARE (backoffice.core.api.handler).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

site = get_wsgi_application()  # sets Django up

from backoffice.core.api.handler import ApiHandler, Dispatcher  # noqa: E402 - needs Django set up
from serving.predict.shortpath import ShortPath  # noqa: E402

# A remembered API key's POST .../predict is answered by serving.predict.shortpath, the rest of
# the API by its handler.
application = Dispatcher(site, ShortPath(ApiHandler()))

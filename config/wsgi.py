import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# After setup: the web's connections give up on a statement or a lock wait (503) rather
# than hold the worker (core/database.py).
from core.database import bound_request_waits  # noqa: E402

bound_request_waits()

# The URLconf, and with it every view and what they import, loaded now rather than by the
# first request: under gunicorn's preload_app the workers fork with it (shared, and frozen
# out of the collector's reach by gunicorn.conf.py) instead of each spending about a second
# of CPU importing it in the middle of a request. It opens no database connection.
get_resolver().url_patterns  # noqa: B018
get_resolver().reverse_dict  # noqa: B018

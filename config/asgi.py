import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# After setup: the web's connections give up on a statement or a lock wait (503) rather
# than hold the worker (core/database.py).
from core.database import bound_request_waits  # noqa: E402

bound_request_waits()

"""Production settings: everything in config.settings, with transport security switched on.

`python manage.py check --deploy --fail-level WARNING --settings=config.settings_production`
is clean when SECRET_KEY is a long random value and ALLOWED_HOSTS is set.
"""

from .settings import *  # noqa: F403
from .settings import env

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# A new dict, not an item set on the one star-imported from settings: that object is shared
# with config.settings, and a process that imports both (the tests) would see its static
# files storage changed under it.
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

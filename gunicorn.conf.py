"""gunicorn settings, read automatically from the working directory (web container, bench).

The app is imported once in the master and the workers fork from it. Freezing the
garbage collector at that point moves the import-time objects (Django, the URL and template
machinery) out of the collector's reach: workers share those pages copy-on-write instead
of dirtying them, and a full collection no longer walks them in the middle of a request,
which was a visible part of the tail latency under load (docs/performance.md).

Request limits (docs/security.md): gunicorn bounds the request line and headers; it has no
body limit, so bodies are bounded by the proxy (deploy/Caddyfile) and by the app, which
refuses an over-limit Content-Length before reading a byte
(core.middleware.RequestBodyLimitMiddleware).
"""

import gc

preload_app = True

# The longest request line (method, path and query string): the app's own URLs are far
# shorter; a longer line is answered 414 before the app is called.
limit_request_line = 4094
# At most this many header fields, each at most this long (cookies included): 400 past it.
limit_request_fields = 50
limit_request_field_size = 8190


def pre_fork(server, worker):
    gc.freeze()

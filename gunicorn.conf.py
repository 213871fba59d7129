"""gunicorn settings, read automatically from the working directory (web container, bench).

The app is imported once in the master and the workers fork from it. Freezing the
garbage collector at that point moves the import-time objects (Django, the URL and template
machinery) out of the collector's reach: workers share those pages copy-on-write instead
of dirtying them, and a full collection no longer walks them in the middle of a request,
which was a visible part of the tail latency under load (docs/performance.md).
"""

import gc

preload_app = True


def pre_fork(server, worker):
    gc.freeze()

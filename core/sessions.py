"""Sessions in the database, as `django.contrib.sessions.backends.db`, with the one query
every signed-in request makes (loading the session by its key) written as SQL once instead
of composed by the ORM on each request (about a tenth of a cached page's CPU).

Sessions stay in the database only, never cached in Redis: a sign-out during a Redis
outage could not delete a cached copy, which would sign the session back in once Redis
returned (docs/security.md). Everything but `load` is Django's.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    def load(self):
        session_key = self.session_key
        if session_key is None:
            return {}
        model = self.model
        quote = connections[router.db_for_read(model)].ops.quote_name
        table = quote(model._meta.db_table)
        sql = (
            f"SELECT {quote('session_data')} FROM {table} "  # noqa: S608 - names from the model
            f"WHERE {quote('session_key')} = %s AND {quote('expire_date')} > %s"
        )
        with connections[router.db_for_read(model)].cursor() as cursor:
            cursor.execute(sql, [session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            # As Django's: an unknown or expired key is dropped, and a new one is made on save.
            self._session_key = None
            return {}
        return self.decode(row[0])

"""PostgreSQL as Django's own backend, with a cursor for the few statements Recorder runs for
every notification, which PostgreSQL parses and plans once per connection instead of every
time.

Django binds parameters on the client: psycopg quotes every value into the statement's text,
and PostgreSQL parses and plans each one afresh. For the statements recordings/prepared.py
runs (the notification's row, the move of its operation, the recording's row, the queued
fetch), `prepared_cursor()` binds on the server and has psycopg prepare the statement the
first time a connection runs it: later runs send only the name and the values. Measured
in-process, in alternating blocks of notifications, that takes 7% off the web process's CPU
per notification and 20 to 30% off the database's. Every other query is Django's, as before.

The cursor is kept for the connection's life and lent again, not made anew for each
statement: psycopg works out how to send each type of value once per cursor, and that was
about a tenth of the web process's CPU per notification when every statement had a cursor
of its own. One lent cursor at a time: asked for another while it is out (a statement run
while another's rows are being read), `prepared_cursor()` makes a cursor for that caller
alone.

The health check Django runs on a kept connection once per request (CONN_HEALTH_CHECKS)
costs no round trip when there is nothing to learn: a connection PostgreSQL has closed (a
restart, an idle timeout, a terminated backend) has something on its socket to read, the
error the server sent as it closed or the end of the stream. `is_usable()` polls the
socket without waiting, and only when it finds something there asks with Django's own
`SELECT 1`, which reads it and says whether the connection still works. For Graph's
notifications, that was one round trip of every group commit's few.

Prepared statements live in the database session. A connection pooler in transaction mode
that does not keep them (PgBouncer before 1.21, or with max_prepared_statements = 0) breaks
them: set `OPTIONS["prepared_statements"]` False (the DATABASE_PREPARED_STATEMENTS setting),
and `prepared_cursor()` is Django's ordinary cursor.
"""

import select

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils.asyncio import async_unsafe
from psycopg import errors
from psycopg.pq import Format, TransactionStatus

# psycopg prepares a statement on its own once it has run this many times on a connection;
# Django turns that off (prepare_threshold None), and so that only the prepared cursor's
# statements are prepared, the threshold is set out of reach rather than lowered.
NEVER = 2**62

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}


class PreparingCursor(base.ServerBindingCursor):
    """Binds on the server and has every statement it runs prepared."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class KeptCursor(PreparingCursor):
    """A PreparingCursor lent out again and again: closing it, as Django's cursor wrapper
    does on leaving its `with`, hands it back rather than closing it."""

    lent = False
    timezone = None  # that its dates come back in

    def close(self):
        self.lent = False

    def discard(self):
        self.lent = False
        super().close()


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # Logged (DEBUG, the tests' query captures) as Django logs its own queries: with the
        # values in place, not "QUERY = ... - PARAMS = ...".
        if isinstance(cursor, PreparingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                pass
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    @property
    def prepares_statements(self) -> bool:
        value = self.settings_dict["OPTIONS"].get("prepared_statements", False)
        if isinstance(value, str):  # from DATABASE_URL's query string
            if value.strip().lower() not in TRUE | FALSE:
                raise ImproperlyConfigured(
                    f"OPTIONS['prepared_statements'] must be true or false, not {value!r}."
                )
            return value.strip().lower() in TRUE
        return bool(value)

    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        try:
            waiting, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket itself is gone
            return False
        # Nothing to read: the server has said nothing since the last answer, so it has
        # not closed the connection. Something to read: find out what, by asking.
        return not waiting or super().is_usable()

    def get_connection_params(self):
        params = super().get_connection_params()
        params.pop("prepared_statements", None)  # Recorder's, not psycopg's
        return params

    @async_unsafe
    def prepared_cursor(self):
        """A cursor whose statements PostgreSQL prepares once per connection; Django's
        ordinary cursor when prepared statements are turned off."""
        if not self.prepares_statements:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            if self.connection.prepare_threshold is None:
                # Set here rather than on connecting: a pooled connection comes this way too.
                self.connection.prepare_threshold = NEVER
            kept = self._kept_cursor
            # Another connection's, or dates for another time zone (the tests' TIME_ZONE
            # overrides): a new one.
            if (
                kept is None
                or kept.connection is not self.connection
                or kept.timezone != self.timezone
            ):
                if kept is not None:
                    kept.discard()
                kept = self._kept_cursor = self._new_prepared_cursor(KeptCursor)
            if kept.lent:
                return self._prepare_cursor(self._new_prepared_cursor(PreparingCursor))
            kept.lent = True
            return self._prepare_cursor(kept)

    _kept_cursor: KeptCursor | None = None

    def _close(self):
        self._kept_cursor = None  # it dies with its connection
        return super()._close()

    def _new_prepared_cursor(self, cursor_class):
        cursor = cursor_class(self.connection)
        # As Django's create_cursor: dates come back in the connection's time zone.
        loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
        if self.timezone != loader.timezone:
            register_tzloader(self.timezone, cursor)
        cursor.timezone = self.timezone
        return cursor

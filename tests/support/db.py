"""The test database as other processes and threads reach it."""

from django.db import connection, connections


def database_url() -> str:
    """The DATABASE_URL of the test database, for a worker or server process of its own."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def closing_connections(target):
    """A thread's target that closes the database connections it opened when it ends:
    PostgreSQL will not drop the test database while one is left open."""

    def run(*args, **kwargs):
        try:
            return target(*args, **kwargs)
        finally:
            connections.close_all()

    return run

"""SQLite's writers queue for the write lock (recorder_site/sqlite3/base.py): the threads of
a process on its lock, the processes on a lock file beside the database, each taken before
`BEGIN IMMEDIATE` and given back when the transaction ends, however it ends.

Other processes are real ones, holding a real write transaction on the test database.
"""

import contextlib
import fcntl
import os
import subprocess
import sys
import threading

import pytest
from django.db import OperationalError, connection, transaction

from recorder_site.sqlite3.base import lock_file, process_lock
from recordings.models import Call
from tests.support.db import closing_connections, database_url
from tests.support.paths import REPO

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the write lock is SQLite's (PostgreSQL locks rows)"
    ),
]

# A process of its own that writes the test database: it begins a write transaction, says so,
# and commits when told (or is killed before it can).
HOLDER = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "recorder_site.settings"
django.setup()
from django.db import transaction
from recordings.models import Call
with transaction.atomic():
    Call.objects.create(graph_id="held-by-another-process")
    print("holding", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


@pytest.fixture
def name():
    return str(connection.settings_dict["NAME"])


@pytest.fixture
def other_process():
    started = []

    def start():
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER],
            cwd=REPO,
            env={**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(holder)
        assert holder.stdout.readline().strip() == "holding"
        return holder

    yield start
    for holder in started:
        holder.kill()
        holder.wait(timeout=10)


@contextlib.contextmanager
def lock_timeout(seconds: float):
    """This thread's connection, opened again with the database timeout `seconds`, and
    the timeout given back after."""
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    connection.settings_dict["OPTIONS"] = {**options, "timeout": seconds}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = options


def shared_lock_is_free(name: str) -> bool:
    """Whether a process other than the holder could take the lock file now."""
    probe = os.open(f"{name}-writer", os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True
    finally:
        os.close(probe)


def test_a_write_transaction_holds_both_locks_until_it_commits(name):
    with transaction.atomic():
        Call.objects.create(graph_id="one")
        assert process_lock(name).locked()
        assert not shared_lock_is_free(name)
    assert not process_lock(name).locked()
    assert shared_lock_is_free(name)


def test_a_rolled_back_or_failed_transaction_gives_the_locks_back(name):
    with pytest.raises(RuntimeError), transaction.atomic():
        Call.objects.create(graph_id="two")
        raise RuntimeError("the apply failed")
    assert not process_lock(name).locked() and shared_lock_is_free(name)
    assert not Call.objects.filter(graph_id="two").exists()


def test_a_connection_closed_inside_a_transaction_gives_the_locks_back(name):
    transaction.set_autocommit(False)  # atomic() would refuse the close below
    try:
        connection._start_transaction_under_autocommit()
        assert process_lock(name).locked()
        connection.close()
        assert not process_lock(name).locked() and shared_lock_is_free(name)
    finally:
        connection.connect()


def test_the_threads_of_a_process_write_in_turn_without_waiting_for_sqlite(name):
    """Eight threads, each its own connection, a hundred write transactions each: every one
    commits (none meets "database is locked"), and no two ever overlap."""
    inside = []
    overlaps = []
    errors = []

    @closing_connections
    def write(n):
        try:
            for i in range(100):
                with transaction.atomic():
                    inside.append(n)
                    if len(inside) > 1:
                        overlaps.append(tuple(inside))
                    Call.objects.create(graph_id=f"thread-{n}-{i}")
                    inside.remove(n)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not overlaps
    assert Call.objects.filter(graph_id__startswith="thread-").count() == 800


def test_another_processs_transaction_is_waited_for_then_written_after(name, other_process):
    holder = other_process()
    done = threading.Event()

    @closing_connections
    def write():
        try:
            with transaction.atomic():
                Call.objects.create(graph_id="after-the-other")
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.5)  # queued behind the other process, not failed
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "committed"
    assert done.wait(10)
    writer.join()
    first, second = Call.objects.filter(
        graph_id__in=["held-by-another-process", "after-the-other"]
    ).order_by("pk")
    assert (first.graph_id, second.graph_id) == ("held-by-another-process", "after-the-other")


def test_waiting_ends_at_the_timeout_with_sqlites_own_error(name, other_process):
    other_process()
    with lock_timeout(0.3):
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            Call.objects.create(graph_id="never")
        assert not process_lock(name).locked()  # the next writer of this process may go


def test_a_thread_waiting_behind_another_of_its_process_stops_at_the_timeout(name):
    holding = threading.Event()
    release = threading.Event()

    @closing_connections
    def hold():
        with transaction.atomic():
            Call.objects.create(graph_id="held-by-a-thread")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    with lock_timeout(0.3):
        try:
            with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
                Call.objects.create(graph_id="never")
        finally:
            release.set()
            holder.join(10)
    assert not process_lock(name).locked() and shared_lock_is_free(name)
    assert list(Call.objects.values_list("graph_id", flat=True)) == ["held-by-a-thread"]


def test_a_killed_holder_drops_the_lock_with_its_process(name, other_process):
    holder = other_process()
    holder.kill()
    holder.wait(timeout=10)
    with transaction.atomic():
        Call.objects.create(graph_id="after-a-kill")
    assert Call.objects.filter(graph_id="after-a-kill").exists()
    assert not Call.objects.filter(graph_id="held-by-another-process").exists()


def test_each_process_opens_the_lock_file_for_itself(name):
    """A descriptor inherited across fork would share its lock with the parent's, so two
    processes could both hold it: a child opens its own."""
    mine = lock_file(name)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's answer comes through the pipe
        os.write(write, str(lock_file(name)).encode())
        os._exit(0)
    os.waitpid(child, 0)
    theirs = int(os.read(read, 64))
    os.close(read)
    os.close(write)
    assert lock_file(name) == mine
    assert theirs != mine

"""Notifications that arrive at the same moment share one transaction (recordings.group_commit),
and a failure in that transaction costs the others nothing.

Real threads, each with its own database connection; the first thread's work is held until
the others have queued behind it, so the batches are known, not left to timing.
"""

import json
import threading
import time

import pytest
from django.db import connection, transaction

from recordings.group_commit import BatchFailed, GroupCommit
from recordings.models import Call, Notification, RecordOperation
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services
from tests.support.db import closing_connections
from tests.support.factories import create_operation
from tests.support.graph import graph_fixture

pytestmark = pytest.mark.django_db(transaction=True)

CALL_ID = "421f1100-f4ff-4d0b-a10e-a4d5b1d2be55"


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def in_threads(targets):
    """Start each target in a thread of its own; return what each returned or raised."""
    outcomes = [None] * len(targets)

    @closing_connections
    def run(i, target):
        try:
            outcomes[i] = ("returned", target())
        except Exception as err:
            outcomes[i] = ("raised", err)

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_work_handed_in_during_a_batch_is_committed_together_by_one_thread():
    group = GroupCommit()
    release = threading.Event()
    ran_on = {}

    def first():
        release.wait(10)
        ran_on["first"] = threading.get_ident()
        return "first"

    def later(n):
        def work():
            ran_on[n] = threading.get_ident()
            Call.objects.create(graph_id=f"batched-{n}")
            return n

        return work

    threads, outcomes = in_threads([lambda: group.run(first)])
    wait_for(lambda: group._leading and not group._queue)  # the first batch is running
    more, later_outcomes = in_threads([lambda n=n: group.run(later(n)) for n in range(5)])
    wait_for(lambda: len(group._queue) == 5)
    release.set()
    for thread in threads + more:
        thread.join(10)

    assert outcomes == [("returned", "first")]
    assert sorted(later_outcomes) == [("returned", n) for n in range(5)]
    assert len({ran_on[n] for n in range(5)}) == 1  # one leader ran the five, in one go
    assert Call.objects.filter(graph_id__startswith="batched-").count() == 5
    assert not group._leading and not group._queue


def test_many_threads_handing_in_work_at_once_each_get_their_own_result_once():
    """The lead passes from thread to thread (a small limit makes it pass often): every
    piece runs once, each thread gets its own result back, and nothing is left waiting."""
    group = GroupCommit(limit=3)
    ran = []
    lock = threading.Lock()

    def piece(thread, n):
        def work():
            with lock:
                ran.append((thread, n))
            time.sleep(0.0005)
            return (thread, n)

        return work

    def worker(thread):
        return [group.run(piece(thread, n)) for n in range(25)]

    threads, outcomes = in_threads([lambda t=t: worker(t) for t in range(12)])
    for thread in threads:
        thread.join(30)

    assert not any(thread.is_alive() for thread in threads)
    assert outcomes == [("returned", [(t, n) for n in range(25)]) for t in range(12)]
    assert sorted(ran) == [(t, n) for t in range(12) for n in range(25)]
    assert not group._leading and not group._queue


def test_a_failure_fails_the_batch_and_every_piece_is_told_to_run_alone():
    group = GroupCommit()
    release = threading.Event()

    def hold():
        release.wait(10)

    def good():
        Call.objects.create(graph_id="kept-only-if-the-batch-commits")
        return "good"

    def bad():
        raise RuntimeError("disk on fire")

    threads, _ = in_threads([lambda: group.run(hold)])
    wait_for(lambda: group._leading and not group._queue)
    more, outcomes = in_threads([lambda: group.run(good), lambda: group.run(bad)])
    wait_for(lambda: len(group._queue) == 2)
    release.set()
    for thread in threads + more:
        thread.join(10)

    assert [kind for kind, _ in outcomes] == ["raised", "raised"]
    assert all(isinstance(err, BatchFailed) for _, err in outcomes)
    assert not Call.objects.filter(graph_id="kept-only-if-the-batch-commits").exists()


def test_work_inside_a_transaction_runs_there_and_joins_no_batch():
    group = GroupCommit()
    with transaction.atomic():
        assert group.run(lambda: connection.in_atomic_block) is True
        assert not group._leading


def test_failed_work_inside_a_transaction_undoes_itself_and_nothing_before_it():
    group = GroupCommit()

    def half_done():
        Call.objects.create(graph_id="written-then-undone")
        raise RuntimeError("disk on fire")

    with transaction.atomic():
        Call.objects.create(graph_id="the-callers-own")
        with pytest.raises(RuntimeError):
            group.run(half_done)
        Call.objects.create(graph_id="after-the-failure")
    assert sorted(Call.objects.values_list("graph_id", flat=True)) == [
        "after-the-failure",
        "the-callers-own",
    ]


def test_notifications_behind_a_poisoned_one_are_applied_and_the_poisoned_one_keeps_its_error(
    monkeypatch,
):
    """Three completions queue behind a held one; one of them fails to apply. The shared
    transaction is undone, each is applied again alone: two complete, the failing one is
    stored with its error and its caller gets the exception (Graph's POST answered 500)."""
    call = Call.objects.create(graph_id=CALL_ID, state="established")
    ids = [f"0fe0623f-d628-42ed-b4bd-8ac29007200{n}" for n in range(4)]
    for n, graph_id in enumerate(ids):
        create_operation(call=call, graph_id=graph_id, client_context=f"context-{n}")
    held = threading.Event()
    release = threading.Event()
    advance = operation_services.advance_operation

    def advancing(operations, parsed):
        if parsed.id == ids[0] and not held.is_set():
            held.set()
            release.wait(10)
        if parsed.id == ids[2]:
            raise RuntimeError("disk on fire")
        return advance(operations, parsed)

    monkeypatch.setattr(operation_services, "advance_operation", advancing)

    def body(graph_id):
        payload = graph_fixture("v1.0/notification-completed")
        item = payload["value"][0]
        item["resourceUrl"] = f"/communications/calls/{CALL_ID}/operations/{graph_id}"
        item["resourceData"]["id"] = graph_id
        item["resourceData"].pop("@odata.id", None)
        return json.dumps(payload).encode()

    def receive(graph_id):
        return lambda: notification_services.receive_notification(
            body=body(graph_id), headers={}, remote_addr=None, claims={}
        )

    first, first_outcome = in_threads([receive(ids[0])])
    held.wait(10)
    wait_for(lambda: notification_services._received._leading)
    rest, outcomes = in_threads([receive(graph_id) for graph_id in ids[1:]])
    wait_for(lambda: len(notification_services._received._queue) == 3)
    release.set()
    for thread in first + rest:
        thread.join(20)

    assert first_outcome[0][0] == "returned"
    assert [kind for kind, _ in outcomes] == ["returned", "raised", "returned"]
    assert str(outcomes[1][1]) == "disk on fire"
    statuses = dict(RecordOperation.objects.values_list("graph_id", "status"))
    assert [statuses[graph_id] for graph_id in ids] == [
        "completed",
        "completed",
        "running",
        "completed",
    ]
    rows = Notification.objects.order_by("pk")
    assert rows.count() == 4
    failed = [row for row in rows if row.error]
    assert len(failed) == 1 and "disk on fire" in failed[0].error
    assert ids[2] in bytes(failed[0].body).decode()

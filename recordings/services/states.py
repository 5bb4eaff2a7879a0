"""Which way each state may move: the tables every state transition checks against.

Each table has one function that writes it (operations.move_operation, calls.move_call,
fetching.move_recording); nothing else changes these fields.
"""

from recordings.models import CallState, FetchStatus, OperationStatus

# An operation's status only moves forward through these ranks; equal rank is not a move.
OPERATION_STATUS_RANK = {
    OperationStatus.NOT_STARTED: 0,
    OperationStatus.RUNNING: 1,
    OperationStatus.COMPLETED: 2,
    OperationStatus.FAILED: 2,
}

# Calls move forward through these ranks; within rank 2 they move freely (hold, transfer).
CALL_STATE_RANK = {
    CallState.INCOMING: 0,
    CallState.RINGING: 1,
    CallState.ESTABLISHING: 1,
    CallState.ESTABLISHED: 2,
    CallState.HOLD: 2,
    CallState.TRANSFERRING: 2,
    CallState.TRANSFER_ACCEPTED: 2,
    CallState.REDIRECTING: 2,
    CallState.TERMINATING: 3,
    CallState.TERMINATED: 4,
}

# A recording's fetch status, by the statuses it may be reached from.
RECORDING_MOVES_FROM = {
    # Claimed; or taken over from a worker whose lease ran out.
    FetchStatus.FETCHING: frozenset({FetchStatus.PENDING, FetchStatus.FETCHING}),
    FetchStatus.STORED: frozenset({FetchStatus.FETCHING}),
    # A passing failure, to be retried; or a failure the periodic reconcile revives.
    FetchStatus.PENDING: frozenset({FetchStatus.FETCHING, FetchStatus.FAILED}),
    FetchStatus.FAILED: frozenset({FetchStatus.FETCHING}),
    FetchStatus.PURGED: frozenset({FetchStatus.STORED}),
}


def operation_statuses_before(status: str) -> list[str]:
    """The statuses an operation may move to `status` from."""
    rank = OPERATION_STATUS_RANK
    return [earlier for earlier, r in rank.items() if r < rank[status]]


def call_state_moves(current: str, new: str) -> bool:
    """Whether a call in state `current` moves to `new` (a state in CALL_STATE_RANK)."""
    if current == new:
        return False
    current_rank, new_rank = CALL_STATE_RANK.get(current, 0), CALL_STATE_RANK[new]
    return new_rank > current_rank or (new_rank == current_rank == 2)

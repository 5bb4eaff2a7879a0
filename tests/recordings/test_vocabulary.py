"""Recorder's model choices and Graph's vocabulary are one list each, not two that agree."""

from recordings.graph import PROFILES
from recordings.graph.vocabulary import (
    CALL_DIRECTIONS,
    CALL_STATES,
    OPERATION_STATUSES,
    PROMPT_KINDS,
)
from recordings.models import Call, CallState, OperationStatus, Profile, Prompt


def test_the_model_choices_are_graphs_vocabulary():
    assert CallState.values == list(CALL_STATES)
    assert OperationStatus.values == list(OPERATION_STATUSES)
    assert Prompt.Kind.values == list(PROMPT_KINDS)
    # Recorder's own addition: a call whose direction Graph has not told.
    assert Call.Direction.values == [*CALL_DIRECTIONS, "unknown"]


def test_the_profiles_recorder_stores_are_the_ones_it_can_send():
    assert Profile.values == list(PROFILES)
    for rules in PROFILES.values():
        # Operators read the action's name, not its path.
        action = rules.record_path_template.rsplit("/", 1)[-1]
        assert Profile(rules.name).label.endswith(f" ({action})")
        assert Profile(rules.name).label.startswith("Graph ")


def test_members_are_named_and_labelled_from_graphs_spelling():
    assert CallState.TRANSFER_ACCEPTED == "transferAccepted"
    assert CallState.TRANSFER_ACCEPTED.label == "Transfer accepted"
    assert CallState.ESTABLISHED.label == "Established"
    assert OperationStatus.NOT_STARTED == "notStarted"
    assert OperationStatus.NOT_STARTED.label == "Not started"
    assert Call.Direction.UNKNOWN.label == "Unknown"
    assert Prompt.Kind.SILENCE == "silence"

"""What the services raise for an operator to read: each message is a sentence."""

from recordings.graph import GraphError


class ActionRefused(Exception):
    """The action breaks a rule Recorder checks before anything is sent.

    `errors` maps what is wrong (a RecordSpec field, "call", "operation") to sentences.
    """

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(msg for msgs in errors.values() for msg in msgs))


class RecordingRefused(ActionRefused):
    """Starting or cancelling a recording was refused; nothing was sent to Graph."""


class CallActionRefused(ActionRefused):
    """An action on a call (hanging up) was refused; nothing was sent to Graph."""


class GraphActionFailed(Exception):
    """Graph refused or could not be reached; `message` is a sentence for the operator."""

    def __init__(self, message: str, *, error: GraphError, record_request=None):
        self.message = message
        self.error = error
        self.record_request = record_request
        super().__init__(message)

"""Graph's words for the states and kinds Recorder keeps, each list in one place.

The parsers (operations.py) normalise Graph's payloads to these spellings, the profiles
(profiles.py) check prompts against them, and recordings.models makes its choices from them,
so a value Recorder stores is always one Graph sends.
"""

OPERATION_STATUSES = ("notStarted", "running", "completed", "failed")
CALL_STATES = (
    "incoming",
    "establishing",
    "ringing",
    "established",
    "hold",
    "transferring",
    "transferAccepted",
    "redirecting",
    "terminating",
    "terminated",
)
CALL_DIRECTIONS = ("incoming", "outgoing")
CHANGE_TYPES = ("created", "updated", "deleted")
PROMPT_KINDS = ("media", "silence")

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
# The reasons a bot may give Graph for rejecting an incoming call.
REJECT_REASONS = ("none", "busy", "forbidden")

# --- resultInfo codes ----------------------------------------------------------------------
# A terminated call's resultInfo (code, subcode), by who ended it. Graph documents 7000/10550
# (the bot's DELETE), 200/5002 (every other participant left) and 408/8537 (no keepAlive for
# 45 minutes); 5001 ("the conversation has ended") is what a caller's hang-up has also come as.
CALL_END_BOT = frozenset({(7000, 10550)})
CALL_END_OTHERS_LEFT = frozenset({(200, 5002), (200, 5001), (0, 5001), (0, 5002)})
CALL_END_NO_KEEPALIVE = frozenset({(408, 8537)})

# A finished record operation's resultInfo subcode -> the completionReason it means, for the
# completions that carry none (v1.0 documents its completed recordOperation without one).
# 8515 and 8508 are Graph's documented pairs; the others are the codes the emulator sends.
RECORD_RESULT_REASONS = {
    8511: "stopToneDetected",
    8515: "maxRecordDurationReached",
    8516: "initialSilenceTimeout",
    8517: "maxSilenceTimeout",
    8508: "operationCanceled",
    8531: "playPromptFailed",
    8532: "playBeepFailed",
    8533: "mediaReceiveTimeout",
    8534: "unspecifiedError",
}

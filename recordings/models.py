import re
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from recordings.graph.vocabulary import (
    CALL_DIRECTIONS,
    CALL_STATES,
    OPERATION_STATUSES,
    PROMPT_KINDS,
)

_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _graph_choices(
    name: str, values: Iterable[str], *, qualname: str | None = None
) -> type[models.TextChoices]:
    """Choices made from one of Graph's vocabularies (recordings.graph.vocabulary), so the
    two cannot drift apart: "notStarted" is member NOT_STARTED, labelled "Not started"."""
    members = []
    for value in values:
        words = _WORD_BREAK.sub(" ", value).lower()
        members.append((words.replace(" ", "_").upper(), (value, words.capitalize())))
    return models.TextChoices(name, members, module=__name__, qualname=qualname or name)


class GraphIdQuerySet(models.QuerySet):
    def with_graph_id(self, graph_id: str) -> models.QuerySet:
        return self.with_lowered_graph_id(graph_id.lower())

    def with_lowered_graph_id(self, lowered_id: str) -> models.QuerySet:
        """The row whose id, lowered, is `lowered_id` (lowered already, and bound as given,
        so a statement prepared with it can bind another; recordings/prepared.py)."""
        # LOWER(graph_id) = lower(value): the shape the case-insensitive unique index serves.
        # (`graph_id__iexact` compiles to UPPER(...) on PostgreSQL and scans the table.)
        return self.filter(Exact(Lower("graph_id"), lowered_id))

    def one_with_graph_id(self, graph_id: str):
        # The unique index allows at most one row, so no ORDER BY (first() would add one).
        return next(iter(self.with_graph_id(graph_id).order_by()[:1]), None)


class Profile(models.TextChoices):
    # Operators read the label; the action's path is the profile's (recordings.graph.profiles).
    BETA_RECORD = "beta-record", "Graph beta (record)"
    V1 = "v1.0", "Graph v1.0 (recordResponse)"


# Graph's call states: CallState.ESTABLISHED, CallState.TRANSFER_ACCEPTED...
CallState = _graph_choices("CallState", CALL_STATES)


class Call(models.Model):
    # Graph's INCOMING and OUTGOING, and UNKNOWN while Graph has not said.
    Direction = _graph_choices(
        "Direction", (*CALL_DIRECTIONS, "unknown"), qualname="Call.Direction"
    )

    class EndedBy(models.TextChoices):
        # Who ended the call, read from its terminated resultInfo and Recorder's own hang-up
        # (recordings.services.calls.who_ended); the same words serve the operations it cut.
        NOT_ENDED = "", "—"
        CALLER = "caller", "The caller hung up"
        OPERATOR = "operator", "An operator ended the call"
        NO_KEEPALIVE = "noKeepAlive", "Graph ended the call: no keepAlive for 45 minutes"
        OTHER = "other", "Graph ended the call"

    graph_id = models.CharField("Graph call id", max_length=128)
    state = models.CharField(max_length=32, choices=CallState, default=CallState.INCOMING)
    direction = models.CharField(max_length=16, choices=Direction, default=Direction.UNKNOWN)
    caller_id = models.CharField(max_length=256, blank=True)
    caller_name = models.CharField(max_length=256, blank=True)
    tenant_id = models.CharField(max_length=64, blank=True)
    result_code = models.IntegerField(null=True, blank=True)
    result_subcode = models.IntegerField(null=True, blank=True)
    result_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=16, choices=EndedBy, default="", blank=True)
    # When Graph last accepted a keepAlive for the call (services.calls.keep_calls_alive).
    last_keepalive_at = models.DateTimeField(null=True, blank=True)

    objects = GraphIdQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Graph ids come in more than one letter case across payload eras.
            models.UniqueConstraint(Lower("graph_id"), name="call_graph_id_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(state__in=CallState.values), name="call_state_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="call_created_idx"),
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["direction", "-created_at"]),
            # Searching by the caller's whole number (with or without its "+").
            models.Index(fields=["caller_id"], name="call_caller_idx"),
        ]
        permissions = [
            ("hang_up_call", "Can hang up a call"),
            ("answer_call", "Can answer a ringing call"),
            ("reject_call", "Can reject a ringing call"),
        ]

    def __str__(self) -> str:
        return f"Call {self.graph_id}"

    @property
    def is_live(self) -> bool:
        return self.state not in (CallState.TERMINATING, CallState.TERMINATED)

    @property
    def end_code(self) -> str:
        """Graph's resultInfo of the call's end as code/subcode ("" before it ended)."""
        if self.result_code is None:
            return ""
        return f"{self.result_code}/{self.result_subcode}: {self.result_message}".rstrip(": ")


class RequestStatus(models.TextChoices):
    PENDING = "pending"  # saved, not yet answered
    ACCEPTED = "accepted"  # Graph answered with a running operation
    REFUSED = "refused"  # Graph answered with an error
    ERROR = "error"  # no usable answer (network, timeout, unreadable body)


class RecordRequest(models.Model):
    """One record action as the operator asked for it and as it went to Graph.

    A blank (None) parameter was not sent, so Graph applied its own default.
    """

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="record_requests")
    profile = models.CharField(max_length=16, choices=Profile)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    barge_in_allowed = models.BooleanField(null=True, blank=True)
    play_beep = models.BooleanField(null=True, blank=True)
    initial_silence_timeout = models.PositiveIntegerField(null=True, blank=True)
    max_silence_timeout = models.PositiveIntegerField(null=True, blank=True)
    max_record_duration = models.PositiveIntegerField(null=True, blank=True)
    stop_tones = models.JSONField(default=list, blank=True)
    client_context = models.CharField(max_length=256)
    stream_while_recording = models.BooleanField(null=True, blank=True)
    recording_format = models.CharField(max_length=16, blank=True)

    status = models.CharField(max_length=16, choices=RequestStatus, default=RequestStatus.PENDING)
    client_request_id = models.UUIDField(default=uuid.uuid4)
    graph_request_id = models.CharField(max_length=128, blank=True)
    body_sent = models.JSONField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error_code = models.CharField(max_length=128, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(profile__in=Profile.values),
                name="recordrequest_profile_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RequestStatus.values),
                name="recordrequest_status_valid",
            ),
        ]
        permissions = [
            ("start_recording", "Can start a recording on a call"),
        ]

    def __str__(self) -> str:
        return f"Record request {self.pk} on {self.call.graph_id}"


class Prompt(models.Model):
    # MEDIA, SILENCE
    Kind = _graph_choices("Kind", PROMPT_KINDS, qualname="Prompt.Kind")

    request = models.ForeignKey(RecordRequest, on_delete=models.CASCADE, related_name="prompts")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=Kind)
    uri = models.URLField(max_length=2048, blank=True)
    resource_id = models.CharField(max_length=128, blank=True)
    loop = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        # Not "prompt": the library's PromptAudio is that, and the permission picker
        # would list "Can view prompt" twice.
        verbose_name = "request prompt"
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="prompt_position_unique"),
            models.CheckConstraint(
                condition=(models.Q(kind="media", duration_ms__isnull=True) & ~models.Q(uri=""))
                | models.Q(kind="silence", duration_ms__isnull=False, uri="", loop__isnull=True),
                name="prompt_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.SILENCE:
            return f"silence {self.duration_ms} ms"
        return f"media {self.uri}" + (f" x{self.loop}" if self.loop else "")


# Graph's operation statuses: OperationStatus.NOT_STARTED, RUNNING, COMPLETED, FAILED.
OperationStatus = _graph_choices("OperationStatus", OPERATION_STATUSES)


class RecordOperation(models.Model):
    class CompletionReason(models.TextChoices):
        # Graph's documented values; anything else Graph sends is stored as it came.
        OPERATION_CANCELED = "operationCanceled", "Operation canceled"
        STOP_TONE_DETECTED = "stopToneDetected", "Stop tone detected"
        MAX_RECORD_DURATION_REACHED = "maxRecordDurationReached", "Max record duration reached"
        INITIAL_SILENCE_TIMEOUT = "initialSilenceTimeout", "Initial silence timeout"
        MAX_SILENCE_TIMEOUT = "maxSilenceTimeout", "Max silence timeout"
        PLAY_PROMPT_FAILED = "playPromptFailed", "Play prompt failed"
        PLAY_BEEP_FAILED = "playBeepFailed", "Play beep failed"
        MEDIA_RECEIVE_TIMEOUT = "mediaReceiveTimeout", "Media receive timeout"
        UNSPECIFIED_ERROR = "unspecifiedError", "Unspecified error"
        # Graph's "none" says nothing: Recorder shows how the call ended instead when it
        # knows (RecorderReason), and these words when it does not.
        NONE = "none", "Ended without a reason from Graph"
        CALL_TERMINATED = "callTerminated", "Call terminated"

    class RecorderReason(models.TextChoices):
        # Why Recorder itself closed an operation Graph never finished: kept apart from
        # Graph's completionReason so the two are never confused.
        NONE = "", "—"
        # The call ended under a recording Graph gave no reason for (a hang-up sends no
        # completion at all): the reason is who ended the call, in Call.EndedBy's words.
        CALLER_HUNG_UP = "callerHungUp", "The caller hung up"
        OPERATOR_ENDED = "operatorEnded", "An operator ended the call"
        NO_KEEPALIVE = "noKeepAlive", "Graph ended the call: no keepAlive for 45 minutes"
        CALL_ENDED = "callEnded", "Closed by Recorder: the call ended without a completion"
        OVERDUE = "overdue", "Closed by Recorder: running far past its maximum duration"

    # Where a status stops moving (the ranks it moves through: recordings.services.states).
    FINAL_STATUSES = (OperationStatus.COMPLETED, OperationStatus.FAILED)

    graph_id = models.CharField("Graph operation id", max_length=128)
    # Indexed by (call, -created_at) below, which serves the key's lookups too: an index of
    # its own would be one more for every notification's UPDATE to write.
    call = models.ForeignKey(
        Call, on_delete=models.PROTECT, related_name="operations", db_index=False
    )
    record_request = models.OneToOneField(
        RecordRequest, on_delete=models.PROTECT, related_name="operation"
    )
    # The request's profile, kept here too so the operations list filters on one table.
    profile = models.CharField(max_length=16, choices=Profile, default=Profile.BETA_RECORD)
    status = models.CharField(
        max_length=16, choices=OperationStatus, default=OperationStatus.RUNNING
    )
    completion_reason = models.CharField(max_length=64, blank=True)
    recorder_reason = models.CharField(
        max_length=16, choices=RecorderReason, default=RecorderReason.NONE, blank=True
    )
    result_code = models.IntegerField(null=True, blank=True)
    result_subcode = models.IntegerField(null=True, blank=True)
    result_message = models.TextField(blank=True)
    recording_location = models.URLField(max_length=2048, blank=True)
    # A credential: never shown in the admin, only used to fetch the audio.
    recording_access_token = models.TextField(blank=True)
    client_context = models.CharField(max_length=256, blank=True)
    graph_created_at = models.DateTimeField(null=True, blank=True)
    graph_last_action_at = models.DateTimeField(null=True, blank=True)
    # Operators set it; retention never purges the audio of an operation on hold.
    legal_hold = models.BooleanField(default=False)
    # The user name of the operator whose cancel Graph accepted: kept as a name, so the
    # operation still says who cancelled it once that account is gone.
    cancelled_by = models.CharField("cancelled by", max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = GraphIdQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("graph_id"), name="operation_graph_id_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(status__in=OperationStatus.values),
                name="operation_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True)
                | models.Q(status__in=["completed", "failed"]),
                name="operation_finished_only_when_final",
            ),
        ]
        indexes = [
            # One per changelist filter, each with the default sort behind it.
            models.Index(fields=["-created_at"], name="operation_created_idx"),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["completion_reason", "-created_at"]),
            models.Index(fields=["profile", "-created_at"]),
            models.Index(fields=["call", "-created_at"]),
            # Searching by a pasted client context.
            models.Index(fields=["client_context"], name="operation_context_idx"),
            # "Closed by Recorder": few rows, so a partial index stays small.
            models.Index(
                fields=["recorder_reason", "-created_at"],
                condition=~models.Q(recorder_reason=""),
                name="operation_closed_by_us_idx",
            ),
        ]
        permissions = [
            ("cancel_recording", "Can cancel a running recording"),
            ("download_recording", "Can play and download recordings"),
        ]

    def __str__(self) -> str:
        return f"Operation {self.graph_id}"

    # Who ended the call -> the reason of a recording it cut short.
    REASON_BY_CALL_END = {
        "caller": RecorderReason.CALLER_HUNG_UP,
        "operator": RecorderReason.OPERATOR_ENDED,
        "noKeepAlive": RecorderReason.NO_KEEPALIVE,
        "other": RecorderReason.CALL_ENDED,
    }
    # Graph's reasons that say nothing of how a recording ended.
    UNTOLD_REASONS = ("", CompletionReason.NONE)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @staticmethod
    def shown_reason(completion_reason: str, recorder_reason: str) -> str:
        """The one reason an operation shows, as a raw value ("" while there is none).

        Recorder's own reason wins: Recorder sets it only when it closed an operation Graph
        never finished, and then that is how the operation ended, whatever Graph said before.
        The one place this rule is written; recordings.display and every page go through it.
        """
        return recorder_reason or completion_reason

    @classmethod
    def reason_in_words(cls, key: str) -> str:
        """A reason (as `shown_reason` gives it) in words; "" for none."""
        if not key:
            return ""
        for choices in (cls.RecorderReason, cls.CompletionReason):
            if key in choices.values:
                return choices(key).label
        return key  # a value Graph sent that its documentation does not list

    @property
    def completion_reason_label(self) -> str:
        """How the operation ended, in the words every page uses ("" while it has no reason)."""
        return self.reason_in_words(self.shown_reason(self.completion_reason, self.recorder_reason))


class MediaOperation(models.Model):
    """A media operation on a call that records nothing: a prompt played to the caller
    (playPrompt), or the subscription to the keys the caller presses (subscribeToTone).

    Kept apart from RecordOperation, whose request, recording and reasons these don't have;
    they follow Graph's notifications through the same status ranks.
    """

    class Kind(models.TextChoices):
        PLAY_PROMPT = "playPrompt", "Played a prompt"
        SUBSCRIBE_TO_TONE = "subscribeToTone", "Subscribed to the caller's keys"

    graph_id = models.CharField("Graph operation id", max_length=128)
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="media_operations")
    kind = models.CharField(max_length=16, choices=Kind)
    status = models.CharField(
        max_length=16, choices=OperationStatus, default=OperationStatus.RUNNING
    )
    result_code = models.IntegerField(null=True, blank=True)
    result_subcode = models.IntegerField(null=True, blank=True)
    result_message = models.TextField(blank=True)
    client_context = models.CharField(max_length=256, blank=True)
    # The library prompt played (playPrompt); its name stays if the prompt is deleted.
    prompt = models.ForeignKey(
        "PromptAudio", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prompt_name = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    FINAL_STATUSES = (OperationStatus.COMPLETED, OperationStatus.FAILED)

    objects = GraphIdQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("graph_id"), name="media_operation_graph_id_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(status__in=OperationStatus.values),
                name="media_operation_status_valid",
            ),
        ]
        permissions = [("play_prompt", "Can play a prompt to the caller")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.graph_id})"


class CallTone(models.Model):
    """A key the caller pressed, as Graph's toneInfo told it; one per sequenceId."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="tones")
    sequence_id = models.BigIntegerField()
    # Graph's name for the key: tone0-tone9, star, pound, a-d, flash.
    tone = models.CharField(max_length=16)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "sequence_id"]
        constraints = [
            # Graph may deliver the same key twice: its sequenceId makes it one.
            models.UniqueConstraint(fields=["call", "sequence_id"], name="call_tone_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tone} #{self.sequence_id} on {self.call.graph_id}"


class FetchStatus(models.TextChoices):
    PENDING = "pending"
    FETCHING = "fetching"
    STORED = "stored"
    FAILED = "failed"
    PURGED = "purged"


class Recording(models.Model):
    """Recorder's own copy of an operation's audio, and how getting it went.

    Created (pending) when an operation completes with a location; exactly one per
    operation, which is what keeps a duplicate completion or two workers from fetching twice.
    """

    operation = models.OneToOneField(
        RecordOperation, on_delete=models.PROTECT, related_name="recording"
    )
    status = models.CharField(max_length=16, choices=FetchStatus, default=FetchStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Why the last attempt failed, as a sentence; empty once stored.
    error = models.TextField(blank=True)
    # When Graph's link stopped working (401/403/404/410): Graph has discarded the audio.
    link_expired_at = models.DateTimeField(null=True, blank=True)
    # The claim's time is its fencing token and never changes while the claim lasts; the
    # lease is what its live worker renews.
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(upload_to="recordings/%Y/%m/%d/", max_length=300, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    sample_width_bytes = models.PositiveSmallIntegerField(null=True, blank=True)
    # Computed once when the file is stored: an inline SVG, no outside script.
    waveform_svg = models.TextField(blank=True)
    # The level, measured with the waveform: dB relative to full scale (-120: digital
    # silence). What tells an operator a recording is silent before playing it.
    peak_dbfs = models.FloatField("peak level (dBFS)", null=True, blank=True)
    rms_dbfs = models.FloatField("RMS level (dBFS)", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    stored_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=FetchStatus.values), name="recording_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(
                fields=["stored_at"],
                condition=models.Q(status="stored"),
                name="recording_stored_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Recording of {self.operation.graph_id}"

    @property
    def is_playable(self) -> bool:
        """Recorder holds the audio: the player and Download can be offered."""
        return self.status == FetchStatus.STORED and bool(self.file)


class PromptAudio(models.Model):
    """A WAV prompt operators uploaded, served at PROMPT_BASE_URL for Graph to fetch."""

    name = models.CharField(max_length=200, unique=True)
    file = models.FileField(upload_to="prompts/", max_length=300)
    duration_ms = models.PositiveIntegerField()
    size_bytes = models.BigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # Its permissions read "Can view library prompt"; the navigation says "Prompts".
        verbose_name = "library prompt"
        verbose_name_plural = "prompts"

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One authenticated POST to the webhook, stored raw before anything reads it."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    # Not indexed: nothing looks a notification up by it, and every notification would
    # write the index (two on PostgreSQL, with its LIKE twin).
    body_sha256 = models.CharField(max_length=64)
    # Claims of the verified token (never the token itself).
    token_claims = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True, blank=True)
    # False while some record-operation notification in it names an operation Recorder
    # does not know yet; it is applied again when that operation appears.
    matched = models.BooleanField(default=True)
    unmatched_operation_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(matched=False),
                name="notification_unmatched_idx",
            ),
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="notification_unprocessed_idx",
            ),
            models.Index(
                fields=["received_at"],
                condition=~models.Q(error=""),
                name="notification_errored_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S}"

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")


class GraphExchange(models.Model):
    """Every request Recorder sends to Graph (or Azure AD), with its answer or error."""

    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="exchanges"
    )
    record_request = models.ForeignKey(
        RecordRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="exchanges"
    )
    operation = models.ForeignKey(
        RecordOperation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exchanges",
    )
    action = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    url = models.URLField(max_length=2048)
    request_body = models.JSONField(null=True, blank=True)
    client_request_id = models.UUIDField(db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    graph_request_id = models.CharField(max_length=128, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.action} ({self.response_status or self.error or 'pending'})"

"""The emulator's state. Everything lives here, not in memory, so that several server
processes (and the `emulator_call` command) agree on calls, operations, faults and the key.

Status changes that can race (cancel, natural completion, hang-up) are conditional updates
in `services.py`: `filter(status=RUNNING).update(...)`, so exactly one of them wins.
"""

import uuid

from django.db import models


def new_id() -> str:
    return str(uuid.uuid4())


class SigningKey(models.Model):
    """The one RSA key that signs app tokens and notification tokens."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    # Always True: the unique constraint on it keeps the table to one row even when two
    # processes generate a key at the same moment (the loser reads the winner's key).
    singleton = models.BooleanField(default=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "signing key"

    def __str__(self) -> str:
        return f"RSA key {self.kid}"


class CallState(models.TextChoices):
    INCOMING = "incoming"
    ESTABLISHING = "establishing"
    ESTABLISHED = "established"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


LIVE_CALL_STATES = (CallState.INCOMING, CallState.ESTABLISHING, CallState.ESTABLISHED)


class Call(models.Model):
    class EndedBy(models.TextChoices):
        NOBODY = "", "-"
        BOT = "bot", "the bot (DELETE)"
        CALLER = "caller", "the caller (hang-up)"
        RING_TIMEOUT = "ring-timeout", "nobody answered"
        KEEPALIVE = "keepalive", "no keepAlive in time"
        REJECTED = "rejected", "the bot rejected it"

    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    state = models.CharField(max_length=16, choices=CallState, default=CallState.INCOMING)
    caller = models.CharField(max_length=64)
    script = models.TextField(blank=True)
    tenant_id = models.CharField(max_length=64)
    # Where notifications go: the URL given when the call was placed, replaced by the
    # callbackUri of the answer.
    callback_url = models.CharField(max_length=2000)
    etag = models.PositiveIntegerField(default=1)
    ended_by = models.CharField(max_length=16, choices=EndedBy, default=EndedBy.NOBODY, blank=True)
    result_code = models.IntegerField(null=True, blank=True)
    result_subcode = models.IntegerField(null=True, blank=True)
    result_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # The answer, then each keepAlive: Graph ends a call that has had none for 45 minutes.
    keepalive_at = models.DateTimeField(null=True, blank=True)
    # subscribeToTone: from then on each key the caller presses is an `updated` notification
    # carrying toneInfo, numbered from 1 in `tone_sequence`.
    tone_subscribed = models.BooleanField(default=False)
    tone_sequence = models.PositiveIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "emulated call"

    def __str__(self) -> str:
        return f"Call {self.id} from {self.caller}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_CALL_STATES


class OperationStatus(models.TextChoices):
    NOT_STARTED = "notStarted"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Operation(models.Model):
    class Kind(models.TextChoices):
        RECORD = "record"
        PLAY_PROMPT = "playPrompt"
        CANCEL_MEDIA_PROCESSING = "cancelMediaProcessing"
        SUBSCRIBE_TO_TONE = "subscribeToTone"

    class Profile(models.TextChoices):
        BETA_RECORD = "beta-record"
        V1 = "v1.0"

    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=32, choices=Kind, default=Kind.RECORD)
    profile = models.CharField(max_length=16, choices=Profile)
    status = models.CharField(
        max_length=16, choices=OperationStatus, default=OperationStatus.RUNNING
    )
    client_context = models.CharField(max_length=256, blank=True)
    # The validated request, normalised (see validation.py); the runner works from it.
    parameters = models.JSONField(default=dict, blank=True)
    completion_reason = models.CharField(max_length=64, blank=True)
    result_code = models.IntegerField(null=True, blank=True)
    result_subcode = models.IntegerField(null=True, blank=True)
    result_message = models.CharField(max_length=500, blank=True)
    # Both are fixed when the action arrives (the location is built from that request) and
    # shown only once the operation has completed with a recording.
    recording_location = models.CharField(max_length=2000, blank=True)
    access_token = models.CharField(max_length=128, blank=True)
    # The media engine's plan (engine.Outcome as JSON) and when its timeline began, so a
    # hang-up handled by another thread or process can cut the recording where it stands.
    plan = models.JSONField(null=True, blank=True)
    timeline_started_at = models.DateTimeField(null=True, blank=True)
    recording_file = models.CharField(max_length=500, blank=True)
    recording_seconds = models.FloatField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    etag = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_action_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "emulated operation"

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (OperationStatus.COMPLETED, OperationStatus.FAILED)

    @property
    def has_recording(self) -> bool:
        return self.status == OperationStatus.COMPLETED and bool(self.recording_file)


class FaultName(models.TextChoices):
    THROTTLE = "throttle"
    SERVER_ERROR = "server_error"
    SLOW = "slow"
    DUPLICATE_NOTIFICATIONS = "duplicate_notifications"
    REORDER_NOTIFICATIONS = "reorder_notifications"
    DROP_NOTIFICATIONS = "drop_notifications"
    COMPLETE_ON_HANGUP = "complete_on_hangup"
    V1_COMPLETION_REASON = "v1_completion_reason"
    EXPIRE_LINKS = "expire_links"
    BEEP_FAILS = "beep_fails"
    MEDIA_ERROR = "media_error"


# The operations that play or record media: one runs at a time on a call, the others queue.
MEDIA_KINDS = (Operation.Kind.RECORD, Operation.Kind.PLAY_PROMPT)


class Fault(models.Model):
    name = models.CharField(max_length=32, choices=FaultName, unique=True)
    params = models.JSONField(default=dict, blank=True)
    # How many more times the fault fires; null means until it is cleared.
    remaining = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "fault switch"
        verbose_name_plural = "fault switches"

    def __str__(self) -> str:
        left = "until cleared" if self.remaining is None else f"{self.remaining} left"
        return f"{self.name} ({left})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    HELD = "held", "held (reorder fault)"
    SENT = "sent", "sent (2xx)"
    FAILED = "failed", "failed (no 2xx after retries)"
    DROPPED = "dropped", "dropped (fault)"
    REFUSED = "refused", "refused (not a loopback address)"


class Delivery(models.Model):
    """One notification POST (a duplicate is its own row), with what became of it."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="deliveries")
    operation_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=200)
    url = models.CharField(max_length=2000)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    http_status = models.IntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    duplicate = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "notification delivery"
        verbose_name_plural = "notification deliveries"
        indexes = [models.Index(fields=["call", "status"])]

    def __str__(self) -> str:
        return f"{self.summary} → {self.status}"

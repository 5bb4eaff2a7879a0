"""The permissions Recorder checks, by their full names ("app_label.codename").

Every check names one of these: the admin's `has_<x>_permission` methods (which its buttons,
pages and `@admin.action(permissions=["x"])` ask), and the audio view. The codenames are
declared on the models' Meta, or are Django's own view/change permissions.
"""

START_RECORDING = "recordings.start_recording"
CANCEL_RECORDING = "recordings.cancel_recording"
HANG_UP_CALL = "recordings.hang_up_call"
# Answering and rejecting a ringing call by hand, when AUTO_ANSWER is off.
ANSWER_CALL = "recordings.answer_call"
REJECT_CALL = "recordings.reject_call"
PLAY_PROMPT = "recordings.play_prompt"
DOWNLOAD_RECORDING = "recordings.download_recording"
VIEW_OPERATIONS = "recordings.view_recordoperation"
# Setting the flag is the one change operators make to an operation.
SET_LEGAL_HOLD = "recordings.change_recordoperation"
# Re-applying moves operations and calls: it needs more than the right to read the log.
REAPPLY_NOTIFICATIONS = "recordings.change_notification"

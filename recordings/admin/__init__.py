"""The operator pages. One module per area; each registers its own model admins."""

from recordings.admin import calls, exchanges, notifications, operations, prompts  # noqa: F401

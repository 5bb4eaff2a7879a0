from django.conf import settings
from django.core.management.base import BaseCommand

from recordings.services import retention as retention_services


class Command(BaseCommand):
    help = (
        "Delete the audio of recordings stored longer than RECORDING_RETENTION_DAYS ago. "
        "Their rows stay, marked purged; operations on legal hold are skipped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"retention in days (default RECORDING_RETENTION_DAYS, now "
            f"{settings.RECORDING_RETENTION_DAYS})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be purged, delete nothing"
        )

    def handle(self, *args, days: int | None, dry_run: bool, **options) -> None:
        if days is not None and days < 0:
            self.stderr.write("--days must be 0 or more.")
            raise SystemExit(2)
        purged = retention_services.purge_expired_recordings(days=days, dry_run=dry_run)
        for recording in purged:
            self.stdout.write(
                f"{recording.operation.graph_id} stored {recording.stored_at:%Y-%m-%d %H:%M}"
            )
        verb = "would be purged" if dry_run else "purged"
        self.stdout.write(f"{len(purged)} recording(s) {verb}")

from django.core.management.base import BaseCommand

from recordings.services import operations as operation_services


class Command(BaseCommand):
    help = (
        "Close recordings Graph will never finish: ask Graph about operations whose call "
        "ended or that run far past their maximum, and close those it can't account for."
    )

    def handle(self, *args, **options) -> None:
        closed = operation_services.close_abandoned_operations()
        for operation in closed:
            reason = operation.completion_reason_label
            self.stdout.write(f"{operation.graph_id} {operation.status} {reason}")
        self.stdout.write(f"{len(closed)} operation(s) closed")

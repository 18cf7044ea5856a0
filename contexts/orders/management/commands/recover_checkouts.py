"""``manage.py recover_checkouts``: run the recovery job once, now (it also runs every minute)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from contexts.orders import services


class Command(BaseCommand):
    help = "Finish or compensate checkout sagas and operations left behind (older than --older-than seconds)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", type=int, default=None, help="Seconds (default ORDERS_SAGA_TIMEOUT_SECONDS)."
        )

    def handle(self, *args, older_than: int | None = None, **options) -> None:
        age = None if older_than is None else timedelta(seconds=older_than)
        sagas = services.recover_stuck_checkouts(older_than=age)
        operations = services.finish_interrupted_operations(older_than=age)
        self.stdout.write(f"Healed {sagas} checkout(s) and finished {operations} operation(s).")

from django.core.management.base import BaseCommand

from commerce.eventbus import dispatch


class Command(BaseCommand):
    help = "Redeliver due and left-behind event deliveries (what the periodic sweep does), once."

    def handle(self, *args: object, **options: object) -> None:
        count = dispatch.sweep()
        self.stdout.write(f"Dispatched {count} deliveries.")

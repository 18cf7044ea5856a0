"""``manage.py seed_demo_orders``: the demo shop's orders (``DEMO_ORDERS``, a dotted path: the kernel
imports no context, so the function that spans them is named in the settings, as the dashboard is)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = (
        "Seed the demo shop's orders over the last three weeks (run after seed_demo): delivered, shipped, "
        "some to ship today, a return waiting and a cancellation, each by a demo buyer of its own. "
        "A buyer with an order already is left alone: a re-run adds nothing."
    )

    def handle(self, *args, **options) -> None:
        report = import_string(settings.DEMO_ORDERS)()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo orders ready ({report.created} placed this run, {report.already_there} already there)."
            )
        )

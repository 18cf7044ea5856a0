"""``manage.py rebuild_listing``: rebuild the listing read model from the catalogue, pricing and inventory."""

from django.core.management.base import BaseCommand

from contexts.catalogue.services import listing


class Command(BaseCommand):
    help = "Rebuild the catalogue's listing read model from scratch (safe to run at any time)."

    def handle(self, *args, **options) -> None:
        changed = listing.rebuild_listing()
        self.stdout.write(self.style.SUCCESS(f"Listing rebuilt: {changed} row(s) written."))

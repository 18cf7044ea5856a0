"""``manage.py seed_demo``: a ready demo shop (idempotent: running it twice is fine)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from contexts.catalogue.management.commands.import_catalogue import ProgressReporter
from contexts.catalogue.services import demo, importing


class Command(BaseCommand):
    help = (
        "Seed a demo shop: categories, ~200 products with variants and placeholder images, EUR prices, stock in "
        "two warehouses, an automatic promotion (15 % off Home > Kitchen) and the voucher WELCOME10."
    )

    def handle(self, *args, **options) -> None:
        stream = getattr(self.stderr, "_out", sys.stderr)
        progress = ProgressReporter(stream, interactive=stream.isatty() and options.get("verbosity", 1) > 0)
        try:
            report = demo.seed_demo(progress=progress)
        except importing.ImportFailed as failure:
            for error in failure.errors:
                self.stderr.write(str(error))
            raise CommandError("The bundled demo catalogue did not validate.", returncode=1) from None
        finally:
            progress.close()
        imported = report.imported
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo shop ready: {imported.products} products, {imported.variants} variants "
                f"({imported.products_created} products created this run); "
                f"promotion {'created' if report.promotion_created else 'already there'}; "
                f"voucher {demo.VOUCHER_CODE} {'created' if report.voucher_created else 'already there'}."
            )
        )

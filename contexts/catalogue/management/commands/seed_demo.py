"""``manage.py seed_demo``: a ready demo shop; fills in what is missing, never changes what exists."""

import sys

from django.core.management.base import BaseCommand, CommandError

from contexts.catalogue.management.commands.import_catalogue import ProgressReporter
from contexts.catalogue.services import demo, importing


class Command(BaseCommand):
    help = (
        "Seed a demo shop: categories, ~200 products with variants and placeholder images, prices in every "
        "currency of the shop, stock in two warehouses, an automatic promotion (15 % off Home > Kitchen) and the "
        "voucher WELCOME10, shipping methods standard and express with their VAT rates. Only what is missing is written: a re-run keeps every edit made since."
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
                f"Demo shop ready ({imported.products_created} products created this run, "
                f"{report.prices_created} prices and {report.stock_levels_created} stock levels filled in; "
                "what existed was left as it was); "
                f"promotion {'created' if report.promotion_created else 'already there'}; "
                f"voucher {demo.VOUCHER_CODE} {'created' if report.voucher_created else 'already there'}; "
                f"{report.shipping_created} shipping zones, methods, rates and VAT rates created."
            )
        )

"""``manage.py check_stock_ledger``: every stock level equals the sum of its ledger movements."""

from django.core.management.base import BaseCommand, CommandError

from contexts.inventory import selectors


class Command(BaseCommand):
    help = "Verify that every SKU's on-hand quantity per warehouse equals the sum of its stock movements."

    def handle(self, *args: object, **options: object) -> None:
        mismatches = selectors.ledger_mismatches()
        if not mismatches:
            self.stdout.write(self.style.SUCCESS("Stock ledger balances: every level equals its movements."))
            return
        for m in mismatches:
            self.stderr.write(
                f"{m.sku} @ {m.warehouse_code}: on hand {m.on_hand}, ledger {m.ledger_total} "
                f"(difference {m.on_hand - m.ledger_total:+d})"
            )
        raise CommandError(f"{len(mismatches)} stock level(s) disagree with the ledger.", returncode=1)

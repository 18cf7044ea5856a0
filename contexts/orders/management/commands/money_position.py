"""``manage.py money_position``: captured minus refunded per order, against the gateway's own record."""

from django.core.management.base import BaseCommand

from contexts.orders import services


class Command(BaseCommand):
    help = "Compare every order's captured minus refunded with the payment gateway's record; list any difference."

    def handle(self, *args, **options) -> None:
        position = services.money_position()
        self.stdout.write(
            f"{position.orders} orders with a payment; gateway captured {position.captured}, "
            f"refunded {position.refunded}, net {position.captured - position.refunded}."
        )
        if not position.differences:
            self.stdout.write(self.style.SUCCESS("No difference."))
            return
        for diff in position.differences:
            self.stdout.write(
                f"{diff.order_number} [{diff.order_status or '-'}] shop {diff.shop_net} "
                f"gateway {diff.gateway_net}: {diff.problem}"
            )
        self.stderr.write(self.style.ERROR(f"{len(position.differences)} difference(s)."))
        raise SystemExit(1)

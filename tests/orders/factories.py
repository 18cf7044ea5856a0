"""Factories for orders written straight to the orders tables (for reads and erasure tests; the
checkout tests make theirs through the saga)."""

from decimal import Decimal

import factory

from contexts.orders.models import Order, OrderLine, OrderStatusChange, Payment
from contexts.orders.services import next_order_number


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.LazyFunction(next_order_number)
    status = "confirmed"
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    currency = "EUR"
    subtotal = Decimal("30.00")
    discount_total = Decimal("3.00")
    shipping_method = "standard"
    shipping_total = Decimal("4.90")
    shipping_tax = Decimal("0.78")
    tax_total = Decimal("5.09")
    total = Decimal("31.90")
    vouchers = factory.LazyFunction(lambda: [{"code": "WELCOME10", "amount": "3.00"}])
    ship_full_name = "Ada Lovelace"
    ship_line1 = "12 Analytical Street"
    ship_line2 = "Flat 3"
    ship_city = "Berlin"
    ship_postal_code = "10115"
    ship_country = "DE"
    ship_phone = "+49 30 1234567"

    @factory.post_generation
    def with_lines(obj, create, extracted, **kwargs):
        if not create:
            return
        OrderLine.objects.create(
            order=obj,
            position=0,
            sku="TEE-BLUE-M",
            name="Blue tee, M",
            quantity=2,
            unit_price=Decimal("15.00"),
            discount=Decimal("3.00"),
            tax_rate=Decimal("19.00"),
            tax=Decimal("4.31"),
            line_total=Decimal("27.00"),
        )
        Payment.objects.create(
            order=obj,
            gateway="test",
            idempotency_key=f"order:{obj.pk}",
            status="captured",
            amount=obj.total,
            currency=obj.currency,
            captured=obj.total,
        )
        OrderStatusChange.objects.create(order=obj, from_status="", to_status="pending")
        OrderStatusChange.objects.create(order=obj, from_status="pending", to_status=obj.status)

"""Factories of the inventory context's tests."""

import factory

from contexts.inventory import api
from contexts.inventory.models import Warehouse


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    priority = 0
    active = True


def line(sku: str, quantity: int) -> api.ReservationLine:
    return api.ReservationLine(sku=sku, quantity=quantity)

"""The shop's URLs plus one view that changes a price through pricing's api, as an admin form does:
the start of a trace that crosses the event bus (pricing publishes, catalogue's handler applies)."""

from decimal import Decimal

from django.http import HttpRequest, JsonResponse
from django.urls import path

from commerce.urls import urlpatterns as shop_urlpatterns
from contexts.pricing import api as pricing_api


def set_price(request: HttpRequest, sku: str) -> JsonResponse:
    price = pricing_api.set_base_price(sku=sku, currency="EUR", amount=Decimal(request.GET["amount"]))
    return JsonResponse({"sku": price.sku, "amount": str(price.amount)})


urlpatterns = [path("ops-test/price/<str:sku>", set_price), *shop_urlpatterns]

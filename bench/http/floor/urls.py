"""The floor: a ListAPIView (24 a page, COUNT(*) and all, as DRF does it) and a RetrieveAPIView by slug for
``bench/http``; a bare Django view inserting one order and its lines in one transaction for ``bench/checkout``."""

import json
import uuid
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST
from rest_framework import generics, pagination, serializers

from floor.models import FloorOrder, FloorOrderLine, FloorProduct


class Page(pagination.PageNumberPagination):
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100


class SummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = FloorProduct
        fields = ("slug", "name", "category_slug", "price_amount", "currency", "in_stock", "image_url")


class DetailSerializer(serializers.ModelSerializer):
    class Meta:
        model = FloorProduct
        fields = (*SummarySerializer.Meta.fields, "description", "document")


class ProductList(generics.ListAPIView):
    serializer_class = SummarySerializer
    pagination_class = Page

    def get_queryset(self):
        products = FloorProduct.objects.order_by("name", "id")
        category = self.request.query_params.get("category")
        if category:
            products = products.filter(category_slug=category)
        q = self.request.query_params.get("q")
        if q:
            products = products.filter(name__icontains=q)
        return products


class ProductDetail(generics.RetrieveAPIView):
    serializer_class = DetailSerializer
    queryset = FloorProduct.objects.all()
    lookup_field = "slug"


@require_POST
def checkout(request: HttpRequest) -> JsonResponse:
    """The same JSON body as ``POST /api/v1/checkout``; one order row and its lines in one transaction, 201
    with the order's id. The floor has no carts: each order gets the one line the benchmark's carts hold."""
    try:
        data = json.loads(request.body)
        cart_id = uuid.UUID(data["cart_id"])
        address, method, token = data["shipping_address"], data["shipping_method"], data["payment"]["token"]
        email = data["email"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"code": "invalid"}, status=400)
    lines = [("FLOOR-1", 1, Decimal("10.00"))]
    with transaction.atomic():
        order = FloorOrder.objects.create(
            cart_id=cart_id,
            email=email,
            shipping_address=address,
            shipping_method=method,
            payment_token=token,
            currency="EUR",
            total=sum(quantity * price for _, quantity, price in lines) + Decimal("4.90"),
        )
        FloorOrderLine.objects.bulk_create(
            FloorOrderLine(order=order, sku=sku, quantity=quantity, unit_price=price) for sku, quantity, price in lines
        )
    return JsonResponse({"id": order.id}, status=201)


urlpatterns = [
    path("products", ProductList.as_view()),
    path("products/<slug:slug>", ProductDetail.as_view()),
    path("checkout", checkout),
]

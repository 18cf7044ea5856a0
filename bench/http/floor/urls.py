"""The floor: a ListAPIView (24 a page, COUNT(*) and all, as DRF does it) and a RetrieveAPIView by slug."""

from django.urls import path
from rest_framework import generics, pagination, serializers

from floor.models import FloorProduct


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


urlpatterns = [
    path("products", ProductList.as_view()),
    path("products/<slug:slug>", ProductDetail.as_view()),
]

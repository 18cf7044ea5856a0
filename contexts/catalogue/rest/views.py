"""The catalogue context's REST endpoints: one call into the context each."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contexts.catalogue import api, selectors
from contexts.catalogue.rest import serializers as s

CURRENCY = OpenApiParameter(
    "currency", OpenApiTypes.STR, description="ISO 4217 code; the shop's default currency when omitted."
)


class PublicView(APIView):
    """Anonymous, read-only catalogue endpoints: no authentication to run, no session to touch."""

    authentication_classes: list = []


class CategoryListView(PublicView):
    """Every category, in tree order, with its parent's slug (null for a root)."""

    @extend_schema(responses={200: s.CategoryOutput(many=True)}, tags=["catalogue"], operation_id="categories_list")
    def get(self, request: Request) -> Response:
        return Response(s.CategoryOutput(selectors.categories(), many=True).data)


class ProductListView(PublicView, GenericAPIView):
    """Published products, from the listing read model: search, category (with sub-categories), price range,
    stock and ordering. Prices may lag the pricing context by a moment."""

    serializer_class = s.ProductSummaryOutput
    filter_backends: list = []  # the query string is parsed by ListingQueryInput

    @extend_schema(
        parameters=[s.ListingQueryInput, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.ProductSummaryOutput(many=True), 400: OpenApiResponse(description="invalid")},
        tags=["catalogue"],
        operation_id="products_list",
    )
    def get(self, request: Request) -> Response:
        s.refuse_repeated_parameters(request.query_params)
        params = s.ListingQueryInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        entries = selectors.listing(selectors.ListingQuery(**params.validated_data))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(s.ProductSummaryOutput(page, many=True).data)


class ProductDetailView(PublicView):
    """A published product with its variants' current prices and availability; unknown or unpublished → 404."""

    @extend_schema(
        parameters=[CURRENCY],
        responses={200: s.ProductDetailOutput, 404: OpenApiResponse(description="not_found")},
        tags=["catalogue"],
        operation_id="products_retrieve",
    )
    def get(self, request: Request, slug: str) -> Response:
        s.refuse_repeated_parameters(request.query_params)
        currency = request.query_params.get("currency")
        detail = api.get_product_detail(slug=slug, currency=currency.upper() if currency else None)
        return Response(s.product_detail_json(detail))

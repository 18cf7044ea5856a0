"""The catalogue context's REST endpoints: one call into the context each."""

from datetime import datetime
from typing import Any

from django.http import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.openapi import Link, declare_links
from contexts.catalogue import api, selectors
from contexts.catalogue.conf import catalogue_settings
from contexts.catalogue.rest import serializers as s
from contexts.catalogue.rest.pagination import ListingPagination


class PublicView(APIView):
    """Anonymous, read-only catalogue endpoints: no authentication to run, no session to touch."""

    authentication_classes: list = []


class CategoryListView(PublicView):
    """Every category, in tree order, with its parent's slug (null for a root)."""

    @extend_schema(responses={200: s.CategoryOutput(many=True)}, tags=["catalogue"], operation_id="categories_list")
    def get(self, request: Request) -> Response:
        return Response(s.CategoryOutput(selectors.categories(), many=True).data)


def _parameters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated query string. When it names none of the serializer's parameters (a plain page, a detail
    without ``?currency=``) the answer is every default, ``{}``: the serializer, whose fields DRF deep-copies
    for each instance, is not built on the hottest requests."""
    s.refuse_repeated_parameters(request.query_params)
    if not any(name in request.query_params for name in serializer_class._declared_fields):
        return {}
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


def _validators(*, etag: str, modified_at: datetime | None) -> dict[str, Any]:
    return {"etag": etag, "last_modified": int(modified_at.timestamp()) if modified_at else None}


def _with_cache_headers(response: HttpResponseBase, *, etag: str, modified_at: datetime | None) -> HttpResponseBase:
    """ETag and Last-Modified from the read model's version; a short public max-age (``CATALOGUE_HTTP_MAX_AGE``)
    lets a CDN or reverse proxy absorb a crowd, while the application itself always answers from the database."""
    response["ETag"] = etag
    if modified_at is not None:
        response["Last-Modified"] = http_date(modified_at.timestamp())
    patch_cache_control(response, public=True, max_age=catalogue_settings().http_max_age)
    return response


def _not_modified(request: Request, *, etag: str, modified_at: datetime | None) -> HttpResponseBase | None:
    """A 304 when the client's If-None-Match (a list, ``*`` or garbage: Django's parser) or
    If-Modified-Since says it holds this version; None to answer in full."""
    answer = get_conditional_response(request, **_validators(etag=etag, modified_at=modified_at))
    return _with_cache_headers(answer, etag=etag, modified_at=modified_at) if answer is not None else None


class ProductListView(PublicView, GenericAPIView):
    """Published products, from the listing read model: search, category (with sub-categories), price range,
    stock and ordering. Prices may lag the pricing context by a moment. Conditional: ETag / Last-Modified from
    the read model's version (any product change changes every page's), 304 on a match."""

    serializer_class = s.ProductSummaryOutput
    pagination_class = ListingPagination
    filter_backends: list = []  # the query string is parsed by ListingQueryInput

    @extend_schema(
        parameters=[s.ListingQueryInput, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.ProductSummaryOutput(many=True), 400: OpenApiResponse(description="invalid")},
        tags=["catalogue"],
        operation_id="products_list",
    )
    def get(self, request: Request) -> HttpResponseBase:
        parameters = _parameters(s.ListingQueryInput, request)
        version, modified_at = selectors.listing_version()
        query = selectors.ListingQuery(**parameters)
        # Refusals first (an unknown category, a page past the end): a 304 stands only for a 200. Both are
        # decided from lookups cached against the version, so a 304 still reads no page of products.
        entries = selectors.listing(query, version=version)
        self.paginator.known_count = selectors.listing_count(query, entries, version=version)
        self.paginator.ensure_page_exists(request)
        etag = f'W/"listing-{version}"'
        not_modified = _not_modified(request, etag=etag, modified_at=modified_at)
        if not_modified is not None:
            return not_modified
        page = self.paginate_queryset(entries)
        response = self.get_paginated_response([s.summary_json(entry) for entry in page])
        return _with_cache_headers(response, etag=etag, modified_at=modified_at)


class ProductDetailView(PublicView):
    """A published product with its variants' current prices and availability; unknown or unpublished → 404.
    One indexed read of the read model's document; ETag / Last-Modified from its version, 304 on a match."""

    @extend_schema(
        parameters=[s.DetailQueryInput],
        responses={200: s.ProductDetailOutput, 404: OpenApiResponse(description="not_found")},
        tags=["catalogue"],
        operation_id="products_retrieve",
    )
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        currency = _parameters(s.DetailQueryInput, request).get("currency") or None
        detail = api.get_product_detail(slug=slug, currency=currency)
        etag = f'W/"{int(detail.modified_at.timestamp() * 1_000_000):x}-{detail.price.currency}"'
        not_modified = _not_modified(request, etag=etag, modified_at=detail.modified_at)
        if not_modified is not None:
            return not_modified
        return _with_cache_headers(Response(s.product_detail_json(detail)), etag=etag, modified_at=detail.modified_at)


# A listed product leads to its page (an OpenAPI link; bin/fuzz's stateful phase follows it).
declare_links(
    Link(
        source="products_list",
        status="200",
        name="GetProduct",
        target="products_retrieve",
        parameters={"slug": "$response.body#/results/0/slug"},
    ),
)

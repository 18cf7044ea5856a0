"""The cart context's REST endpoints: one call into the context each.

The caller is the authenticated customer, or nobody (an anonymous cart's id is its bearer secret).
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.openapi import Link, declare_links
from contexts.cart import api
from contexts.cart.rest import serializers as s

TAGS = ["cart"]
NOT_FOUND = OpenApiResponse(description="not_found: unknown, malformed or another customer's cart")
INVALID = OpenApiResponse(description="invalid, unknown_sku, voucher_invalid")
CONFLICT = OpenApiResponse(
    description="cart_closed, checkout_in_progress (a checkout of this cart is running), insufficient_stock, "
    "shipping_unavailable"
)


def caller(request: Request) -> int | None:
    user = request.user
    return user.pk if user is not None and user.is_authenticated else None


def valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def cart_response(cart: api.Cart, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.cart_json(cart), status=code)


# A line's id is a positive whole number (a cart's is a UUID): what the cart looks up, stated so.
LINE_ID = OpenApiParameter("line_id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)


class CartCollectionView(APIView):
    @extend_schema(
        request=s.CartCreateInput,
        responses={201: s.CartOutput, 200: s.CartOutput, 400: INVALID},
        tags=TAGS,
        operation_id="carts_create",
        description="Open a cart. A customer who already has an open cart gets it back with 200.",
    )
    def post(self, request: Request) -> Response:
        data = valid(s.CartCreateInput, request)
        opened = api.create_cart(customer_id=caller(request), currency=data.get("currency"))
        return cart_response(opened.cart, status.HTTP_201_CREATED if opened.created else status.HTTP_200_OK)


class CartDetailView(APIView):
    @extend_schema(responses={200: s.CartOutput, 404: NOT_FOUND}, tags=TAGS, operation_id="carts_retrieve")
    def get(self, request: Request, cart_id: str) -> Response:
        return cart_response(api.get_cart(cart_id=cart_id, customer_id=caller(request)))

    @extend_schema(
        request=s.DeliveryInput,
        responses={200: s.CartOutput, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        tags=TAGS,
        operation_id="carts_partial_update",
        description="Choose the destination country and shipping method; shipping and tax follow.",
    )
    def patch(self, request: Request, cart_id: str) -> Response:
        data = valid(s.DeliveryInput, request)
        return cart_response(
            api.set_delivery(
                cart_id=cart_id,
                customer_id=caller(request),
                country=data.get("country", api.UNSET),
                shipping_method=data.get("shipping_method", api.UNSET),
            )
        )


class CartLinesView(APIView):
    @extend_schema(
        request=s.LineInput,
        responses={201: s.CartOutput, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        tags=TAGS,
        operation_id="carts_lines_create",
        description="Add a SKU; a SKU already in the cart adds to its line.",
    )
    def post(self, request: Request, cart_id: str) -> Response:
        data = valid(s.LineInput, request)
        cart = api.add_line(cart_id=cart_id, customer_id=caller(request), sku=data["sku"], quantity=data["quantity"])
        return cart_response(cart, status.HTTP_201_CREATED)


class CartLineDetailView(APIView):
    @extend_schema(
        request=s.QuantityInput,
        responses={200: s.CartOutput, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        tags=TAGS,
        operation_id="carts_lines_partial_update",
        parameters=[LINE_ID],
    )
    def patch(self, request: Request, cart_id: str, line_id: str) -> Response:
        data = valid(s.QuantityInput, request)
        return cart_response(
            api.set_line_quantity(
                cart_id=cart_id, customer_id=caller(request), line_id=line_id, quantity=data["quantity"]
            )
        )

    @extend_schema(
        parameters=[LINE_ID],
        responses={200: s.CartOutput, 404: NOT_FOUND, 409: CONFLICT},
        tags=TAGS,
        operation_id="carts_lines_destroy",
    )
    def delete(self, request: Request, cart_id: str, line_id: str) -> Response:
        return cart_response(api.remove_line(cart_id=cart_id, customer_id=caller(request), line_id=line_id))


class CartVouchersView(APIView):
    @extend_schema(
        request=s.VoucherInput,
        responses={200: s.CartOutput, 400: INVALID, 404: NOT_FOUND, 409: CONFLICT},
        tags=TAGS,
        operation_id="carts_vouchers_create",
    )
    def post(self, request: Request, cart_id: str) -> Response:
        data = valid(s.VoucherInput, request)
        return cart_response(api.add_voucher(cart_id=cart_id, customer_id=caller(request), code=data["code"]))


class CartVoucherDetailView(APIView):
    @extend_schema(
        responses={200: s.CartOutput, 404: NOT_FOUND, 409: CONFLICT}, tags=TAGS, operation_id="carts_vouchers_destroy"
    )
    def delete(self, request: Request, cart_id: str, code: str) -> Response:
        return cart_response(api.remove_voucher(cart_id=cart_id, customer_id=caller(request), code=code))


class CartAssignView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: s.CartOutput,
            400: INVALID,
            401: OpenApiResponse(description="not_authenticated"),
            404: NOT_FOUND,
            409: CONFLICT,
        },
        tags=TAGS,
        operation_id="carts_assign",
        description="Merge the anonymous cart into the caller's open cart (quantities add up) and return that cart.",
    )
    def post(self, request: Request, cart_id: str) -> Response:
        return cart_response(api.assign_cart(cart_id=cart_id, customer_id=request.user.pk))


class CartShippingMethodsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "country", s.country_schema(), description="ISO 3166-1 alpha-2; the cart's country when omitted."
            )
        ],
        responses={
            200: s.ShippingOptionOutput(many=True),
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="country_required: no ?country= and none chosen on the cart"),
        },
        tags=TAGS,
        operation_id="carts_shipping_methods_list",
    )
    def get(self, request: Request, cart_id: str) -> Response:
        options = api.list_shipping_methods(
            cart_id=cart_id, customer_id=caller(request), country=request.query_params.get("country")
        )
        return Response([s.shipping_option_json(option) for option in options])


# How the cart's answers lead on (OpenAPI links; bin/fuzz's stateful phase follows them): a cart's id
# to its own operations and to checkout, a new line's id to that line, a voucher's code to its removal.
_CART = {"cart_id": "$response.body#/id"}
_LINE = {"cart_id": "$response.body#/id", "line_id": "$response.body#/lines/0/id"}
_CHECKOUT = {"cart_id": "$response.body#/id"}
declare_links(
    *(
        Link(source="carts_create", status=status_code, name=name, target=target, parameters=_CART)
        for status_code in ("200", "201")
        for name, target in (
            ("GetCart", "carts_retrieve"),
            ("SetDelivery", "carts_partial_update"),
            ("AddLine", "carts_lines_create"),
            ("ListShippingMethods", "carts_shipping_methods_list"),
            ("AddVoucher", "carts_vouchers_create"),
            ("AssignCart", "carts_assign"),
        )
    ),
    *(
        Link(
            source="carts_create", status=status_code, name="CheckOut", target="checkout_create", request_body=_CHECKOUT
        )
        for status_code in ("200", "201")
    ),
    Link(
        source="carts_lines_create",
        status="201",
        name="ChangeLine",
        target="carts_lines_partial_update",
        parameters=_LINE,
    ),
    Link(source="carts_lines_create", status="201", name="RemoveLine", target="carts_lines_destroy", parameters=_LINE),
    Link(source="carts_lines_create", status="201", name="GetCart", target="carts_retrieve", parameters=_CART),
    Link(
        source="carts_lines_create", status="201", name="SetDelivery", target="carts_partial_update", parameters=_CART
    ),
    Link(source="carts_lines_create", status="201", name="CheckOut", target="checkout_create", request_body=_CHECKOUT),
    Link(
        source="carts_partial_update",
        status="200",
        name="ListShippingMethods",
        target="carts_shipping_methods_list",
        parameters=_CART,
    ),
    Link(
        source="carts_partial_update", status="200", name="CheckOut", target="checkout_create", request_body=_CHECKOUT
    ),
    Link(
        source="carts_vouchers_create",
        status="200",
        name="RemoveVoucher",
        target="carts_vouchers_destroy",
        parameters={**_CART, "code": "$response.body#/vouchers/0"},
    ),
)

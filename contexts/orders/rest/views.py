"""The orders context's REST endpoints: one call into the context each.

``POST /checkout`` is idempotent by its ``Idempotency-Key`` (``commerce.idempotency``): the key is
claimed before the checkout runs and completed with the answer after, in their own transactions, so
the stored answer survives whatever the saga rolled back. Keys are scoped to the caller: a signed-in
customer, or for a guest the cart they check out (the cart id is a guest's bearer secret, so a
guest's stored answer can only be replayed by someone holding that cart). ``401`` and ``429`` happen
before the view runs and are never stored; neither is an unexpected error, which leaves the key to
the retry.
"""

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from commerce import metrics
from commerce.idempotency.keys import HEADER_PARAMETER, Claim
from commerce.openapi import Link, declare_links
from commerce.pagination import StandardPagination
from contexts.orders import api, services
from contexts.orders.conf import orders_settings
from contexts.orders.exceptions import OrderNotFound
from contexts.orders.rest import serializers as s

PAGE_PARAMETERS = [
    OpenApiParameter("page", int, OpenApiParameter.QUERY, required=False),
    OpenApiParameter("page_size", int, OpenApiParameter.QUERY, required=False),
]


def _customer_id(request: Request) -> int | None:
    return request.user.pk if request.user and request.user.is_authenticated else None


def _visible_order(request: Request, order_id: UUID) -> api.Order:
    """A customer's order to that customer only; a guest's order to whoever holds its id."""
    order = api.get_order(order_id=order_id)
    if order.customer_id is not None and order.customer_id != _customer_id(request):
        raise OrderNotFound()
    return order


def _checkout_caller(request: Request) -> str:
    """Whose Idempotency-Key it is: the signed-in customer's, or for a guest the cart's."""
    customer_id = _customer_id(request)
    if customer_id:
        return f"customer:{customer_id}"
    cart = s.GuestCartInput(data=request.data)
    cart.is_valid(raise_exception=True)
    return f"guest:{cart.validated_data['cart_id']}"


class CheckoutThrottle(SimpleRateThrottle):
    """Card testing defence: checkouts per customer (or per client address for guests), off unless
    ``ORDERS_CHECKOUT_THROTTLE`` is set (e.g. ``"30/min"``). A throttled call never reaches the
    Idempotency-Key store."""

    scope = "checkout"

    def get_rate(self) -> str | None:
        return orders_settings().checkout_throttle

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CheckoutView(APIView):
    throttle_classes = [CheckoutThrottle]

    def dispatch(self, request, *args, **kwargs):
        """Every checkout request is timed and counted by its answer (the checkout objective, docs/slo.md),
        whatever failed: the throttle, the Idempotency-Key's claim or completion, the body, the saga, the
        order's serialization. A crash or a worker's timeout leaves here as an exception: ``error``."""
        self.checkout_error: BaseException | None = None
        with metrics.checkout_answered() as answer:
            response = super().dispatch(request, *args, **kwargs)
            data = getattr(response, "data", None)
            code = data.get("code", "") if isinstance(data, dict) else ""
            answer.result = services.checkout_result(response.status_code, code, self.checkout_error)
        return response

    def handle_exception(self, exc):
        self.checkout_error = exc  # whose failure it was is the error's to say, not its status's alone
        return super().handle_exception(exc)

    @extend_schema(
        request=s.CheckoutInput,
        parameters=[HEADER_PARAMETER],
        responses={
            201: s.OrderOutput,
            400: OpenApiResponse(
                description="cart_empty, shipping_method_required, idempotency_key_required, invalid (the body, "
                "or an Idempotency-Key the header's schema refuses)"
            ),
            402: OpenApiResponse(description="payment_declined"),
            404: OpenApiResponse(description="not_found: no such cart, or another customer's"),
            409: OpenApiResponse(
                description="insufficient_stock, shipping_unavailable, voucher_invalid, request_in_progress, "
                "cart_closed, checkout_in_progress"
            ),
            422: OpenApiResponse(description="idempotency_key_reused"),
            502: OpenApiResponse(description="payment_error"),
        },
        tags=["orders"],
    )
    @services.idempotency_keys.idempotent(scope=_checkout_caller)
    def post(self, request: Request, *, idempotency: Claim) -> Response:
        data = s.CheckoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer_id = _customer_id(request)
        address = values.get("shipping_address")
        placed = services.place_order(
            services.CheckoutRequest(
                cart_id=values["cart_id"],
                customer_id=customer_id,
                email=values.get("email") or (request.user.email if customer_id else None),
                shipping_address=api.Address(**address) if address else None,
                address_id=values.get("address_id"),
                shipping_method=values.get("shipping_method"),
                payment_token=values["payment"]["token"],
                idempotency_claim=idempotency.id,
                claim_taken_over=idempotency.taken_over,
            )
        )
        return Response(s.OrderOutput(api.placed_order(placed)).data, status=status.HTTP_201_CREATED)


class _CustomerOrders:
    """A customer's orders as a lazy sequence, so the paginator asks the api for one page only."""

    def __init__(self, customer_id: int, statuses: frozenset[str]) -> None:
        self.customer_id = customer_id
        self.statuses = statuses

    def count(self) -> int:
        return api.count_customer_orders(customer_id=self.customer_id, statuses=self.statuses)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> tuple[api.Order, ...]:
        return api.list_customer_orders(
            customer_id=self.customer_id,
            statuses=self.statuses,
            offset=item.start or 0,
            limit=item.stop - (item.start or 0),
        )


class OrderListView(APIView):
    """The caller's placed orders (``api.PLACED``: ``confirmed`` and after), or with ``?status=`` the
    orders in that status (``failed`` shows the checkout attempts that failed)."""

    permission_classes = [IsAuthenticated]
    pagination_class = StandardPagination  # so the schema declares the paginated object it answers

    @extend_schema(
        operation_id="orders_list",
        responses={200: s.OrderPageOutput, 400: OpenApiResponse(description="invalid: an unknown status")},
        parameters=[*PAGE_PARAMETERS, s.OrderListQuery],
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        # A plain dict, not the QueryDict: DRF reads an empty form value of an optional field as absent,
        # and ``?status=`` is a value the schema refuses, not "no filter".
        query = s.OrderListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        status_ = query.validated_data.get("status")
        statuses = frozenset({status_}) if status_ else api.PLACED
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(_CustomerOrders(request.user.pk, statuses), request, view=self)
        return paginator.get_paginated_response(s.OrderOutput(page, many=True).data)


class OrderDetailView(APIView):
    @extend_schema(responses={200: s.OrderOutput}, tags=["orders"])
    def get(self, request: Request, order_id: UUID) -> Response:
        return Response(s.OrderOutput(_visible_order(request, order_id)).data)


class OrderCancelView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.OrderOutput, 409: OpenApiResponse(description="not_cancellable")},
        tags=["orders"],
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        order = _visible_order(request, order_id)
        services.cancel_order(order_id=order.id, actor="customer")
        return Response(s.OrderOutput(api.get_order(order_id=order.id)).data)


class OrderReturnsView(APIView):
    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(responses={200: s.OrderReturnOutput(many=True)}, tags=["orders"])
    def get(self, request: Request, order_id: UUID) -> Response:
        order = _visible_order(request, order_id)
        return Response(s.OrderReturnOutput(api.list_returns(order_id=order.id), many=True).data)

    @extend_schema(
        request=s.OrderReturnInput,
        responses={
            201: s.OrderReturnOutput,
            400: OpenApiResponse(description="invalid"),
            409: OpenApiResponse(description="not_returnable"),
        },
        tags=["orders"],
    )
    def post(self, request: Request, order_id: UUID) -> Response:
        # Another customer's (or a guest's) order is not found, whatever the body: checked before the body.
        if _visible_order(request, order_id).customer_id != request.user.pk:
            raise OrderNotFound()
        data = s.OrderReturnInput(data=request.data)
        data.is_valid(raise_exception=True)
        ret = services.request_return(
            order_id=order_id,
            customer_id=request.user.pk,
            lines=[(line["sku"], line["quantity"]) for line in data.validated_data["lines"]],
            reason=data.validated_data["reason"],
        )
        return Response(s.OrderReturnOutput(api.get_return(return_id=ret.pk)).data, status=status.HTTP_201_CREATED)


# How an order leads on (OpenAPI links; bin/fuzz's stateful phase follows them): the order checkout
# placed, to its own operations.
_ORDER = {"order_id": "$response.body#/id"}
declare_links(
    *(
        Link(source="checkout_create", status="201", name=name, target=target, parameters=_ORDER)
        for name, target in (
            ("GetOrder", "orders_retrieve"),
            ("CancelOrder", "orders_cancel_create"),
            ("ListReturns", "orders_returns_list"),
            ("RequestReturn", "orders_returns_create"),
        )
    ),
)

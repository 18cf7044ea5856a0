"""The notifications context's REST endpoints. Authentication is the deployable's (settings): the
monolith's and the notifications service's each verify identity's access tokens in their own way."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from contexts.notifications import api, selectors
from contexts.notifications.rest import serializers as s


class MessageListView(GenericAPIView):
    """The caller's own messages, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.NotificationOutput
    filter_backends: list = []

    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.NotificationOutput(many=True)},
        tags=["notifications"],
        operation_id="me_notifications_list",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.messages_of(request.user.pk))
        return self.get_paginated_response(s.NotificationOutput(page, many=True).data)


class MessageExportView(GenericAPIView):
    """All the caller's messages, oldest first, in the shape of their personal-data export, on one page: what
    identity's ``/me/export`` reads here once the service records alone (``contexts.notifications.client``).
    One document rather than pages, so the export is never stitched from pages read at different moments (a
    customer's messages number in the hundreds at most)."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.NotificationExportListOutput
    filter_backends: list = []
    pagination_class = None

    @extend_schema(
        responses={200: s.NotificationExportListOutput}, tags=["notifications"], operation_id="me_notifications_export"
    )
    def get(self, request: Request) -> Response:
        # From the sender (``api.customer_messages``): here when this process sends, else the service, read
        # with the caller's own access token. The gateway sends this path to the monolith too while a share
        # under 100 keeps it recording, and its record-only copy knows neither whether nor when a message left.
        messages = api.customer_messages(customer_id=request.user.pk, access_token=lambda: _bearer_token(request))
        return Response(s.NotificationExportListOutput({"results": messages}).data)


def _bearer_token(request: Request) -> str:
    """The access token the caller authenticated with (``Authorization: Bearer …``): every customer request
    carries one, as the API authenticates by access tokens alone."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""

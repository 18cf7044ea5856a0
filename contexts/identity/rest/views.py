"""The identity context's REST endpoints: one call into the context each."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from commerce.openapi import Link, declare_links
from contexts.identity import selectors, services, tokens
from contexts.identity.exceptions import AddressNotFound
from contexts.identity.rest import serializers as s


class InvalidCredentials(AuthenticationFailed):
    default_detail = "No active account matches these credentials."
    default_code = "invalid_credentials"


class InvalidToken(AuthenticationFailed):
    default_detail = "The token is invalid or expired."
    default_code = "token_not_valid"


class AnonymousAPIView(APIView):
    """Endpoints for callers without a token; a refused credential still answers 401, not 403."""

    authentication_classes: list = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class RegisterView(AnonymousAPIView):
    """Open an account. A taken email answers 400 as API.md says, which tells the caller that the email
    has an account; the throttle (``THROTTLE_AUTH_REGISTER`` per client address) is what keeps that from
    becoming a way to test addresses in bulk (see README, "Accounts")."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_register"

    @extend_schema(request=s.RegisterInput, responses={201: s.ProfileOutput}, tags=["identity"])
    def post(self, request: Request) -> Response:
        data = s.RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.register_customer(**data.validated_data)
        return Response(s.ProfileOutput(user).data, status=status.HTTP_201_CREATED)


class TokenView(AnonymousAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=s.TokenInput,
        responses={200: s.TokenPairOutput, 401: OpenApiResponse(description="invalid_credentials")},
        tags=["identity"],
    )
    def post(self, request: Request) -> Response:
        data = s.TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, email=data.validated_data["email"], password=data.validated_data["password"])
        if user is None:
            raise InvalidCredentials()
        pair = services.issue_tokens(user=user)
        return Response({"access": pair.access, "refresh": pair.refresh})


class TokenRefreshView(AnonymousAPIView):
    @extend_schema(
        request=s.RefreshInput,
        responses={
            200: s.AccessOutput,
            401: OpenApiResponse(description="token_not_valid: expired, revoked (logged out), or its account closed"),
        },
        tags=["identity"],
    )
    def post(self, request: Request) -> Response:
        data = s.RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        access = services.refresh_access(refresh=data.validated_data["refresh"])
        if access is None:
            raise InvalidToken()
        return Response({"access": access})


class LogoutView(APIView):
    """Log out: this device's refresh token is revoked; with ``everywhere``, every token issued to the caller
    so far stops working, access tokens included (a lost phone, a shared computer)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=s.LogoutInput,
        responses={
            204: None,
            400: OpenApiResponse(
                description="invalid_token: not a refresh token this shop issued to the caller (an access token, "
                "another customer's); nothing is revoked. invalid: a malformed body"
            ),
            401: OpenApiResponse(description="not_authenticated or token_not_valid: log out with a valid access token"),
        },
        tags=["identity"],
    )
    def post(self, request: Request) -> Response:
        data = s.LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.log_out(user_id=request.user.pk, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JwksView(AnonymousAPIView):
    """The public keys access tokens are signed with (a JSON Web Key Set, RFC 7517): a service verifies a
    token with them alone, choosing the key by the token's ``kid``. Cached for five minutes; a token with a
    ``kid`` not in a cached set means the key changed: fetch the set again."""

    @extend_schema(responses={200: s.JwksOutput}, tags=["identity"], operation_id="jwks_retrieve")
    def get(self, request: Request) -> Response:
        return Response(tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})


class PasswordResetView(AnonymousAPIView):
    """Always 202, whether or not the email has an account: the answer never tells which."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(request=s.PasswordResetInput, responses={202: None}, tags=["identity"])
    def post(self, request: Request) -> Response:
        data = s.PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.request_password_reset(email=data.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(AnonymousAPIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_reset"

    @extend_schema(
        request=s.PasswordResetConfirmInput,
        responses={204: None, 400: OpenApiResponse(description="invalid_token or invalid")},
        tags=["identity"],
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordResetConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.confirm_password_reset(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    delete_takes_a_body = True  # the password (API.md); read by commerce.openapi.schema.AutoSchema

    @extend_schema(responses={200: s.ProfileOutput}, tags=["identity"])
    def get(self, request: Request) -> Response:
        return Response(s.ProfileOutput(request.user).data)

    @extend_schema(request=s.ProfileUpdateInput, responses={200: s.ProfileOutput}, tags=["identity"])
    def patch(self, request: Request) -> Response:
        data = s.ProfileUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.update_profile(user_id=request.user.pk, changes=services.ProfileChanges(**data.validated_data))
        return Response(s.ProfileOutput(user).data)

    @extend_schema(
        request=s.CloseAccountInput,
        responses={
            204: None,
            400: OpenApiResponse(description="invalid: no password, or not a string"),
            403: OpenApiResponse(description="invalid_credentials: wrong password (nothing changes)"),
        },
        tags=["identity"],
    )
    def delete(self, request: Request) -> Response:
        """Close the account: personal data is erased here and in every context that keeps a copy;
        orders stay for accounting without the person's name, email, phone or address."""
        data = s.CloseAccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.close_account(user_id=request.user.pk, password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExportView(APIView):
    """Everything the shop holds about the caller: profile, addresses, orders, messages sent."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(description="one JSON document")}, tags=["identity"])
    def get(self, request: Request) -> Response:
        document = services.export_personal_data(user_id=request.user.pk)
        return Response(document, headers={"Content-Disposition": 'attachment; filename="my-data.json"'})


class AddressListView(GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.AddressOutput
    filter_backends: list = []

    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.AddressOutput(many=True)},
        tags=["identity"],
        operation_id="me_addresses_list",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.addresses_of(request.user.pk))
        return self.get_paginated_response(s.AddressOutput(page, many=True).data)

    @extend_schema(request=s.AddressInput, responses={201: s.AddressOutput}, tags=["identity"])
    def post(self, request: Request) -> Response:
        data = s.AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        address = services.add_address(user_id=request.user.pk, changes=services.AddressChanges(**data.validated_data))
        return Response(s.AddressOutput(address).data, status=status.HTTP_201_CREATED)


class AddressDetailView(APIView):
    """One of the caller's addresses; another customer's address id is simply not found."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.AddressOutput, 404: OpenApiResponse(description="not_found")}, tags=["identity"])
    def get(self, request: Request, address_id: int) -> Response:
        address = selectors.address_of(request.user.pk, address_id)
        if address is None:
            raise AddressNotFound()
        return Response(s.AddressOutput(address).data)

    @extend_schema(request=s.AddressInput, responses={200: s.AddressOutput}, tags=["identity"])
    def patch(self, request: Request, address_id: int) -> Response:
        data = s.AddressInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = services.change_address(
            user_id=request.user.pk, address_id=address_id, changes=services.AddressChanges(**data.validated_data)
        )
        return Response(s.AddressOutput(address).data)

    @extend_schema(responses={204: None}, tags=["identity"])
    def delete(self, request: Request, address_id: int) -> Response:
        services.delete_address(user_id=request.user.pk, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# How the identity answers lead on (OpenAPI links; bin/fuzz's stateful phase follows them): a new
# address to its own operations, a token pair's refresh token to the refresh.
_ADDRESS = {"address_id": "$response.body#/id"}
declare_links(
    *(
        Link(source="me_addresses_create", status="201", name=name, target=target, parameters=_ADDRESS)
        for name, target in (
            ("GetAddress", "me_addresses_retrieve"),
            ("ChangeAddress", "me_addresses_partial_update"),
            ("RemoveAddress", "me_addresses_destroy"),
        )
    ),
    Link(
        source="auth_token_create",
        status="200",
        name="RefreshToken",
        target="auth_token_refresh_create",
        request_body={"refresh": "$response.body#/refresh"},
    ),
)

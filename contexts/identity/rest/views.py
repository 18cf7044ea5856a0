"""The identity context's REST endpoints: one call into the context each."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from contexts.identity import services
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
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class TokenRefreshView(AnonymousAPIView):
    @extend_schema(request=s.RefreshInput, responses={200: s.AccessOutput}, tags=["identity"])
    def post(self, request: Request) -> Response:
        data = s.RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(data.validated_data["refresh"])
        except TokenError:
            raise InvalidToken() from None
        return Response({"access": str(refresh.access_token)})


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.ProfileOutput}, tags=["identity"])
    def get(self, request: Request) -> Response:
        return Response(s.ProfileOutput(request.user).data)

    @extend_schema(request=s.ProfileUpdateInput, responses={200: s.ProfileOutput}, tags=["identity"])
    def patch(self, request: Request) -> Response:
        data = s.ProfileUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.update_profile(user_id=request.user.pk, changes=services.ProfileChanges(**data.validated_data))
        return Response(s.ProfileOutput(user).data)

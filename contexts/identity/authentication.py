"""How the API knows the caller: an access token, checked against the account it names.

simplejwt's ``JWTAuthentication`` verifies the signature and expiry; here the account is read (by
primary key, as simplejwt does anyway) and a token is refused when the account is closed or switched
off, or when its sessions were ended after the token was issued (``contexts.identity.tokens``). Every
refusal answers ``401 token_not_valid``, a code API.md lists (simplejwt's own ``user_inactive`` and
``user_not_found`` are not).
"""

from typing import Any

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from contexts.identity import tokens
from contexts.identity.models import User


class RevokedToken(InvalidToken):
    default_detail = "This token is no longer valid (logged out, password reset or account closed): log in again."


class AccessTokenAuthentication(JWTAuthentication):
    """``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``."""

    def get_user(self, validated_token: Any) -> User:
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError):
            raise InvalidToken() from None
        try:
            user = User.objects.get(pk=user_id)
        except User.DoesNotExist:
            raise RevokedToken() from None
        if not user.is_active or not tokens.is_current(validated_token, user):
            raise RevokedToken()
        return user

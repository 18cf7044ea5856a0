"""Sessions: the token pairs a login issues, refreshing, logging out one device or every one.

A refresh token is revoked through simplejwt's blacklist (its ``token_blacklist`` app keeps each issued
refresh token as outstanding). Ending every session also raises the account's token generation, which
ends the access tokens as well (``contexts.identity.tokens``).
"""

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from commerce.database import atomic_in, database_for
from contexts.identity.exceptions import CustomerNotFound, InvalidRefreshToken
from contexts.identity.models import User
from contexts.identity.tokens import GENERATION_CLAIM, AccessToken, RefreshToken, is_current, token_backend


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenPair:
    access: str
    refresh: str


def issue_tokens(*, user: User) -> TokenPair:
    """A new pair for a user who just proved who they are."""
    refresh = RefreshToken.for_user(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def access_token_for_call(*, user_id: int, lifetime: timedelta) -> tuple[str, datetime]:
    """An access token for an open account, issued by identity itself to call a service on the customer's
    behalf (the monolith reading their messages from the notifications service for their export). Short-lived
    (``lifetime``), since it is made for one call; signed like every access token (RS256, ``kid``).

    :raises CustomerNotFound: no such open account.
    """
    user = User.objects.filter(pk=user_id, is_active=True, closed_at__isnull=True).first()
    if user is None:
        raise CustomerNotFound()
    token = AccessToken.for_user(user)
    token[GENERATION_CLAIM] = user.token_generation
    token.set_exp(lifetime=lifetime)
    return str(token), datetime.fromtimestamp(token["exp"], tz=UTC)


def refresh_access(*, refresh: str) -> str | None:
    """A new access token for a refresh token that is still good (not expired, not revoked, its account
    open and its sessions not ended since); ``None`` for any other."""
    try:
        token = RefreshToken(refresh)  # checks the signature, the expiry and the blacklist
        user_id = int(token.payload[api_settings.USER_ID_CLAIM])
    except (TokenError, KeyError, TypeError, ValueError):
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active or not is_current(token, user):
        return None
    return str(token.access_token)


def log_out(*, user_id: int, refresh: str, everywhere: bool = False) -> None:
    """Revoke the caller's refresh token; with ``everywhere``, end every token issued to them so far.

    A refresh token of the caller's that is already revoked or expired is fine (logging out twice is
    still logged out, as RFC 7009 has it).

    :raises InvalidRefreshToken: ``refresh`` is not a refresh token issued by this shop to the caller
        (an access token sent by mistake, another customer's, a forged one); nothing is revoked then.
    """
    _check_owner(refresh, user_id)
    with atomic_in("identity"):
        with contextlib.suppress(TokenError):  # already revoked, or expired: nothing more to do
            RefreshToken(refresh).blacklist()
        if everywhere:
            end_every_session(user_id=user_id)


def _check_owner(refresh: str, user_id: int) -> None:
    try:
        claims = token_backend().decode(refresh)
    except TokenBackendExpiredToken:  # raised only once the signature checked out: ours, just old
        claims = token_backend().decode(refresh, verify=False)
    except TokenBackendError:
        raise InvalidRefreshToken() from None
    if claims.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh":
        raise InvalidRefreshToken("This is not a refresh token (an access token?): send the refresh token.")
    if str(claims.get(api_settings.USER_ID_CLAIM)) != str(user_id):
        raise InvalidRefreshToken("This refresh token was not issued to you.")


def end_every_session(*, user_id: int) -> None:
    """Every token issued to this account so far stops working, access tokens included; logging in again
    works at once. (A password reset does this; closing an account switches it off, which does too.)"""
    with atomic_in("identity"):
        User.objects.filter(pk=user_id).update(token_generation=F("token_generation") + 1)
        revoke_refresh_tokens(user_id=user_id)


def revoke_refresh_tokens(*, user_id: int) -> int:
    """Blacklist every refresh token issued to this user; how many were newly revoked."""
    using = database_for("identity")
    with atomic_in("identity"):
        outstanding = OutstandingToken.objects.using(using).filter(user_id=user_id, blacklistedtoken__isnull=True)
        tokens = list(outstanding.values_list("pk", flat=True))
        BlacklistedToken.objects.using(using).bulk_create(
            [BlacklistedToken(token_id=pk) for pk in tokens], ignore_conflicts=True
        )
    return len(tokens)

"""Identity's tokens: simplejwt's, named by the key that signs them and bound to the account's generation.

Access tokens are signed with identity's RSA key (RS256, ``commerce.jwt_keys``) and carry its key id
(``kid``, the key's RFC 7638 thumbprint) in their header, so a service holding the published key set
(``jwks()``, served at ``/.well-known/jwks.json``) picks the right key and verifies a token without
calling identity; a new key gets a new id, and clients such as PyJWT's ``PyJWKClient`` fetch the set
again when they meet one they do not know.

Every token also carries the account's ``token_generation`` when it was issued. Ending every session
of an account (log out everywhere, a password reset) raises the generation, and identity's
authentication refuses a token of an older one: an access token stops working at once instead of
living out its 15 minutes. A counter rather than a time: tokens' ``iat`` counts whole seconds, so a
"not before" time would either spare a stolen token issued in the same second as the reset or refuse
the one the customer gets by logging in right after it. (A service verifying with the public key alone
cannot see a revocation: it learns of it when the access token expires.)

The token classes are simplejwt's, which need no PyJWT until a token is signed or verified; that is
done by ``contexts.identity.signing`` (PyJWT, and with it ``cryptography``: ~12 MB a process), imported
by ``token_backend()`` and ``jwks()`` on first use. So every module may import this one, and a web
worker serving only anonymous requests (the catalogue) never loads PyJWT or cryptography; the first
request that carries a token, logs in, refreshes, logs out or asks for the key set does.
"""

import functools
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from rest_framework_simplejwt import tokens as simplejwt
from rest_framework_simplejwt.settings import api_settings

from commerce.jwt_keys import verifying_key_pem

if TYPE_CHECKING:
    from contexts.identity.signing import KeyIdTokenBackend

GENERATION_CLAIM = "generation"


def jwks() -> dict[str, list[dict[str, str]]]:
    """The key set access tokens are verified with (JWKS): the public part of the signing key."""
    from contexts.identity.signing import public_jwk  # loads PyJWT and cryptography: see the module's docstring

    return {"keys": [public_jwk(verifying_key_pem(api_settings.SIGNING_KEY))]}


@functools.cache
def token_backend() -> "KeyIdTokenBackend":
    """simplejwt's backend as its settings describe it (``rest_framework_simplejwt.state``), with the key id
    and the public key derived from the signing key (``commerce.jwt_keys``). Made by the first token a
    process issues or reads, which is when it loads PyJWT and cryptography (see the module's docstring)."""
    from contexts.identity.signing import KeyIdTokenBackend, public_jwk

    verifying_key = verifying_key_pem(api_settings.SIGNING_KEY)
    return KeyIdTokenBackend(
        api_settings.ALGORITHM,
        api_settings.SIGNING_KEY,
        verifying_key,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        api_settings.JWK_URL,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
        key_id=public_jwk(verifying_key)["kid"],
    )


def _forget_backend(*, setting: str, **kwargs: Any) -> None:
    if setting == "SIMPLE_JWT":
        token_backend.cache_clear()


setting_changed.connect(_forget_backend)


class _SignedWithKeyId:
    def get_token_backend(self) -> "KeyIdTokenBackend":
        return token_backend()


class AccessToken(_SignedWithKeyId, simplejwt.AccessToken):
    """What ``Authorization: Bearer`` carries (``SIMPLE_JWT["AUTH_TOKEN_CLASSES"]``)."""


class RefreshToken(_SignedWithKeyId, simplejwt.RefreshToken):
    """Kept in simplejwt's outstanding-token list, so it can be revoked (blacklisted) one by one or all at once."""

    access_token_class = AccessToken

    @classmethod
    def for_user(cls, user: Any) -> "RefreshToken":
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation  # copied into each access token made from it
        return token


def is_current(token: simplejwt.Token, user: Any) -> bool:
    """Whether ``token`` was issued in the account's current generation. A token without the claim dates from
    before generations were counted: it counts as the first."""
    return token.get(GENERATION_CLAIM, 0) == user.token_generation

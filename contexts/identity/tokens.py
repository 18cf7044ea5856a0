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
"""

import base64
import functools
import hashlib
import json
from typing import Any

import jwt
from django.core.signals import setting_changed
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt import tokens as simplejwt
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings

GENERATION_CLAIM = "generation"


class KeyIdTokenBackend(TokenBackend):
    """simplejwt's backend, writing the signing key's id into each token's header (simplejwt has no setting for it)."""

    def __init__(self, *args: Any, key_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_id = key_id

    def encode(self, payload: dict[str, Any]) -> str:
        claims = payload.copy()
        if self.audience is not None:
            claims["aud"] = self.audience
        if self.issuer is not None:
            claims["iss"] = self.issuer
        return jwt.encode(
            claims,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.key_id},
            json_encoder=self.json_encoder,
        )


def public_jwk(public_key_pem: str) -> dict[str, str]:
    """The RSA public key as a JWK (RFC 7517) for signatures with RS256, named by its thumbprint."""
    algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
    fields = algorithm.to_jwk(algorithm.prepare_key(public_key_pem), as_dict=True)
    required = {name: fields[name] for name in ("e", "kty", "n")}  # RFC 7638: these, in this order, no spaces
    digest = hashlib.sha256(json.dumps(required, separators=(",", ":"), sort_keys=True).encode()).digest()
    key_id = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return {**required, "kid": key_id, "use": "sig", "alg": "RS256"}


def jwks() -> dict[str, list[dict[str, str]]]:
    """The key set access tokens are verified with (JWKS): the public part of the signing key."""
    return {"keys": [public_jwk(api_settings.VERIFYING_KEY)]}


@functools.cache
def token_backend() -> KeyIdTokenBackend:
    """simplejwt's backend as its settings describe it (``rest_framework_simplejwt.state``), with the key id."""
    return KeyIdTokenBackend(
        api_settings.ALGORITHM,
        api_settings.SIGNING_KEY,
        api_settings.VERIFYING_KEY,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        api_settings.JWK_URL,
        api_settings.LEEWAY,
        api_settings.JSON_ENCODER,
        key_id=public_jwk(api_settings.VERIFYING_KEY)["kid"],
    )


def _forget_backend(*, setting: str, **kwargs: Any) -> None:
    if setting == "SIMPLE_JWT":
        token_backend.cache_clear()


setting_changed.connect(_forget_backend)


class _SignedWithKeyId:
    def get_token_backend(self) -> KeyIdTokenBackend:
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

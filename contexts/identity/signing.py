"""How identity's tokens are signed and verified: PyJWT with the RSA key of ``commerce.jwt_keys``.

The only module of identity that imports PyJWT (and with it ``cryptography``, ~12 MB in each process),
and only ``contexts.identity.tokens`` imports it, when a token is first issued or verified or the key
set is first asked for: a web worker serving anonymous requests never loads either
(``tests/http/test_worker_imports.py``).
"""

import base64
import hashlib
import json
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt.backends import TokenBackend


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

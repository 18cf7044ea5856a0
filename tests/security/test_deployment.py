"""OWASP API8:2023 Security Misconfiguration and the supply chain: the production profile passes
Django's deployment checklist, no secret or default password is committed, dependencies are audited."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from commerce.jwt_keys import verifying_key_pem
from tests.http.test_production_profile import run_check

ROOT = Path(__file__).resolve().parents[2]
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{16,}\b"),
    "URL with a password": re.compile(
        r"\b(?:postgres(?:ql)?|redis|amqp|mysql)://[^:/\s@]+:[^@/\s]{3,}@(?!127\.0\.0\.1|localhost)"
    ),
    "hard-coded admin password": re.compile(r"ADMIN_PASSWORD\s*[:=]\s*[\"'][^\"'$]{4,}[\"']"),
}


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot tell which files are committed")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in names.decode().split("\0") if name]


def test_the_production_profile_passes_check_deploy_at_warning_level():
    result = run_check(
        COMMERCE_PROFILE="production",
        SECRET_KEY="k" + "Zq8!vL2#pT0z@rW7^mN4$bY9&hJ3*eD6(sF1)gA5_cV8+uI0=oP2~xR7",
        ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_production_profile_refuses_the_development_secret_key():
    from commerce import settings as shop_settings

    result = run_check(COMMERCE_PROFILE="production", SECRET_KEY=shop_settings._INSECURE_KEY, ALLOWED_HOSTS="x.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set to a real secret" in result.stderr


def test_the_production_profile_refuses_to_start_without_a_jwt_signing_key():
    """Production never signs with a key made on the spot: every server would sign with its own."""
    result = run_check(
        COMMERCE_PROFILE="production", SECRET_KEY="k" * 60, ALLOWED_HOSTS="x.example", JWT_PRIVATE_KEY_FILE=""
    )
    assert result.returncode != 0
    assert "JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE must hold" in result.stderr


def test_the_production_profile_takes_the_key_itself_and_refuses_one_that_is_not_an_rsa_private_key():
    from django.conf import settings

    production = {
        "COMMERCE_PROFILE": "production",
        "SECRET_KEY": "k" + "Zq8!vL2#pT0z@rW7^mN4$bY9&hJ3*eD6(sF1)gA5_cV8+uI0=oP2~xR7",
        "ALLOWED_HOSTS": "x.example",
    }
    pem = settings.JWT_DEVELOPMENT_KEY_FILE.read_text()
    one_line = pem.strip().replace("\n", "\\n")  # as a one-line environment variable holds it
    assert run_check(**production, JWT_PRIVATE_KEY_FILE="", JWT_PRIVATE_KEY=one_line).returncode == 0
    public = verifying_key_pem(settings.JWT_SIGNING_KEY)
    refused = run_check(**production, JWT_PRIVATE_KEY_FILE="", JWT_PRIVATE_KEY=public)
    assert refused.returncode != 0
    assert "not an unencrypted PEM private key" in refused.stderr


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024), id="RSA, 1024 bits"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP256R1()), id="EC"),
    ],
)
def test_check_refuses_a_signing_key_that_is_no_rsa_key_of_2048_bits(key):
    """Only the PEM's header is read with the settings (parsing it loads cryptography, which a worker
    serving anonymous requests never needs); the key itself is checked by ``manage.py check``, which a
    deployment runs (``migrate`` does too), not left to the first login of a worker."""
    pem = key().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    production = {
        "COMMERCE_PROFILE": "production",
        "SECRET_KEY": "k" + "Zq8!vL2#pT0z@rW7^mN4$bY9&hJ3*eD6(sF1)gA5_cV8+uI0=oP2~xR7",
        "ALLOWED_HOSTS": "x.example",
    }
    refused = run_check(**production, JWT_PRIVATE_KEY_FILE="", JWT_PRIVATE_KEY=pem)
    assert refused.returncode != 0
    assert "commerce.E001" in refused.stderr
    assert "must be an RSA key of at least 2048 bits" in refused.stderr


def test_no_secret_or_default_password_is_committed():
    found = []
    for path in tracked_files():
        if path.suffix in {".png", ".jpg", ".ico", ".woff", ".woff2", ".gz"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                found.append(f"{path.relative_to(ROOT)}: {kind}: {match.group(0)[:40]}")
    assert not found, "\n".join(found)


def test_the_secret_scan_finds_what_it_looks_for():
    # Written in pieces, so this file does not trip the scan above.
    leaked = "conn = 'postgres://shop:" + "s3cret-pw@db.internal:5432/shop'\n" + "ADMIN_" + "PASSWORD = 'hunter22'\n"
    hits = {kind for kind, pattern in SECRET_PATTERNS.items() if pattern.search(leaked)}
    assert hits == {"URL with a password", "hard-coded admin password"}


def test_the_locked_dependencies_have_no_known_vulnerability():
    """``pip-audit`` against ``requirements.lock`` (``bin/audit``, from its own environment, so it adds
    nothing to the shop's dependencies). Where the advisory database cannot be reached nothing is
    audited, and the test says so as a skip, never as a pass."""
    result = subprocess.run([str(ROOT / "bin" / "audit")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    if result.returncode == 4:
        pytest.skip(result.stdout.strip().splitlines()[-1])
    if result.returncode == 3:
        pytest.skip(f"pip-audit could not be installed here: {result.stdout.strip()[-300:]}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_bin_audit_exists_and_names_the_lock_file():
    script = (ROOT / "bin" / "audit").read_text()
    assert "requirements.lock" in script and "pip-audit==" in script
    assert os.access(ROOT / "bin" / "audit", os.X_OK)

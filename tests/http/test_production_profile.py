"""The production profile passes Django's deployment checklist when given real secrets."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env: str) -> subprocess.CompletedProcess:
    """``manage.py check --deploy`` on ``env``; with a JWT signing key (the one this machine's development
    settings made) unless ``env`` says otherwise, as production requires one."""
    from django.conf import settings

    hidden = {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "JWT_PRIVATE_KEY", "JWT_PRIVATE_KEY_FILE"}
    environment = {k: v for k, v in os.environ.items() if k not in hidden}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "commerce.settings",
            "JWT_PRIVATE_KEY_FILE": str(settings.JWT_DEVELOPMENT_KEY_FILE),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_profile_passes_check_deploy():
    result = run_check(
        COMMERCE_PROFILE="production",
        SECRET_KEY="q8X!v2#pL0z@rT7^kW4$mN9&bY3*hJ6(eD1)sF5_gA8+cV0=uI2~oP7",
        ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_profile_refuses_to_start_without_a_secret_key():
    result = run_check(COMMERCE_PROFILE="production", ALLOWED_HOSTS="shop.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_argon2_is_the_first_password_hasher(settings):
    from commerce import settings as shop_settings

    assert shop_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"

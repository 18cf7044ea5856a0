"""Creates the fuzzing run's customer and staff accounts and prints ``NAME=access-token`` lines.

Used by ``bin/fuzz`` against its scratch database only; the passwords are random and never shown.
"""

import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402


def account(email: str, *, staff: bool) -> str:
    user, _ = get_user_model().objects.get_or_create(
        email=email, defaults={"is_staff": staff, "is_superuser": staff, "first_name": "Fuzz"}
    )
    user.set_password(secrets.token_urlsafe(24))
    user.save()
    return str(RefreshToken.for_user(user).access_token)


print(f"CUSTOMER_TOKEN={account('fuzz-customer@example.com', staff=False)}")
print(f"STAFF_TOKEN={account('fuzz-staff@example.com', staff=True)}")

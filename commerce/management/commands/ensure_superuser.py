"""``manage.py ensure_superuser``: the superuser the run command creates from ``ADMIN_EMAIL`` and
``ADMIN_PASSWORD``.

A new account is created with that password. An existing account is never changed behind the
staff's back (a password changed in the admin must survive a restart): when ``ADMIN_PASSWORD`` no
longer matches it, or the account is not a superuser, the command says so and how to change it.
"""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email


class Command(BaseCommand):
    help = "Create the superuser ADMIN_EMAIL with ADMIN_PASSWORD; report (never overwrite) an existing one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", default=os.environ.get("ADMIN_EMAIL", ""))
        parser.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD", ""))

    def handle(self, *args, email: str, password: str, **options) -> None:
        if not email or not password:
            raise CommandError("Set ADMIN_EMAIL and ADMIN_PASSWORD (or --email and --password).")
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"ADMIN_EMAIL {email!r} is not an email address.") from error
        users = get_user_model()._default_manager
        existing = users.filter(email__iexact=email).first()
        if existing is None:
            self._warn_if_weak(password)
            user = users.create_superuser(email=email, password=password)
            self.stdout.write(f"Superuser {user.email} created.")
            return
        changepassword = f"manage.py changepassword {existing.email}"
        if not existing.is_superuser or not existing.is_active:
            self.stdout.write(
                self.style.WARNING(
                    f"NOTE: {existing.email} exists but is not an active superuser; it was left as it is. "
                    "Grant the rights in the admin (Identity › Users) or choose another ADMIN_EMAIL."
                )
            )
        elif not existing.check_password(password):
            self.stdout.write(
                self.style.WARNING(
                    f"NOTE: superuser {existing.email} exists and ADMIN_PASSWORD differs from its password: "
                    f"ADMIN_PASSWORD was NOT applied (it only sets a new superuser's password). "
                    f"To change the password: {changepassword}"
                )
            )
        else:
            self.stdout.write(f"Superuser {existing.email} exists; ADMIN_PASSWORD matches.")

    def _warn_if_weak(self, password: str) -> None:
        try:
            validate_password(password)
        except ValidationError as error:
            self.stdout.write(self.style.WARNING("NOTE: ADMIN_PASSWORD is weak: " + " ".join(error.messages)))

"""The admin login lock-out (django-axes), as the shop uses it."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class AdminLockoutBackend(AxesStandaloneBackend):
    """Refuses a login of a locked-out account or address before any password is checked.

    Only logins that come with a request can be locked out (the admin's, ``AXES_ONLY_ADMIN_SITE``);
    ``authenticate()`` called without one (a shell, ``Client.login`` in a test) is not an attack from
    an address, so it passes on to the next backend instead of failing outright as Axes' own does.
    """

    def authenticate(
        self,
        request: HttpRequest | None = None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)

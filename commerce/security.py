"""The admin login lock-out (django-axes), as the shop uses it."""

from datetime import datetime
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.db.models import Max, Q, Sum, Value
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone


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


class AdminLoginsOnlyHandler(AxesDatabaseHandler):
    """Axes' database handler, counting admin logins only (``AXES_HANDLER``).

    ``AXES_ONLY_ADMIN_SITE`` makes Axes *check* the lock-out on admin requests only, but its handler still
    *records* every failed login Django reports, the API's ``/auth/token`` included; an admin login
    then counted those failures, so five wrong passwords at the API (a customer's typos, or anyone
    naming a staff email) locked that account and that address out of the admin for an hour (issue
    22). The API has its own throttle; here a login outside the admin is neither recorded nor counted.
    """

    def user_login_failed(self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any):
        if request is not None and self.is_admin_request(request):
            return super().user_login_failed(sender, credentials, request, **kwargs)
        return None

    def user_logged_in(self, sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any):
        if request is not None and self.is_admin_request(request):  # a success resets admin failures only there
            return super().user_logged_in(sender, request, user, **kwargs)
        return None


def _address(request: HttpRequest) -> str | None:
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR")


def active_locks(request: HttpRequest, username: str) -> tuple[bool, bool]:
    """Which lock refuses this login: (the account's, the address's). Axes locks each on its own
    (``AXES_LOCKOUT_PARAMETERS``) once its failures within the cool-off reach ``AXES_FAILURE_LIMIT``."""
    from axes.models import AccessAttempt

    attempts = AccessAttempt.objects.all()
    cool_off = get_cool_off(request)
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    counted = attempts.aggregate(
        account=Sum("failures_since_start", filter=Q(username=username)) if username else Value(0),
        address=Sum("failures_since_start", filter=Q(ip_address=_address(request))),
    )
    limit = settings.AXES_FAILURE_LIMIT
    return (counted["account"] or 0) >= limit, (counted["address"] or 0) >= limit


def lockout_ends(request: HttpRequest, username: str, *, account: bool = True, address: bool = True) -> datetime | None:
    """When the lock-out of this account and/or this address (the locks that apply) ends: the cool-off
    after the latest failure that counts against them (Axes counts from the latest attempt)."""
    from axes.models import AccessAttempt

    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    by_account = Q(username=username) if account and username else None
    by_address = Q(ip_address=_address(request))
    where = by_account if by_account is not None and not address else by_address
    if by_account is not None and address:
        where |= by_account
    latest = AccessAttempt.objects.filter(where).aggregate(latest=Max("attempt_time"))["latest"]
    return (latest or timezone.now()) + cool_off


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The admin's lock-out page (``AXES_LOCKOUT_CALLABLE``): in the admin's look, saying when the lock
    ends and who can lift it sooner, with Axes' status (429)."""
    from django.contrib import admin

    username = get_client_username(request, credentials) or ""
    account, address = active_locks(request, username)
    if not (account or address):  # counted elsewhere than we read (a custom handler): name both
        account, address = bool(username), True
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "username": username,
        "account_locked": account,
        "address_locked": address,
        "address": _address(request),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "ends_at": lockout_ends(request, username, account=account, address=address),
    }
    return TemplateResponse(request, "admin/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE).render()

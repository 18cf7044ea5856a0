"""The admin, discovered when it is first used rather than when a process starts.

Django's ``AdminConfig`` imports every app's ``admin`` module at start-up, and with them the forms of
Django's auth admin and the admin's URLs: ~1.3 MB in each web worker, most of which serve the API and never
an admin page (measured by ``bench/http``; issue 22 item 15). Here the app config is Django's own
``SimpleAdminConfig`` (no discovery at start-up, the same checks) with this site as the default site
(``default_site``, Django's documented way to replace ``admin.site``), and the site discovers the apps'
``admin`` modules the first time anything reads its registry: a page under /admin/ (``commerce.urls``
names the admin's URLconf, ``commerce.admin_urls``, imported on the first such request), the system checks,
a test, or any ``reverse()`` (Django's first one builds the reverse map of every URLconf included: the API's
own paths avoid it, ``commerce.api_index``). Whoever reads it first finds every ``ModelAdmin`` registered,
as at start-up before.
"""

import threading

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.module_loading import import_string


class AdminConfig(SimpleAdminConfig):
    default_site = "commerce.admin_site.AdminSite"


class AdminSite(admin.AdminSite):
    """Django's ``AdminSite`` whose registry of model admins fills itself on first read.

    Every path through the site (``register``, ``is_registered``, ``get_urls``, ``get_app_list``,
    ``check``...) goes through ``_registry``; discovery runs once, before the first of them returns. The
    apps' ``admin`` modules register to ``admin.site`` (this site) while it runs, and see the registry as
    it is being filled; another thread (the development server's, gthread workers) waits for the end of it
    rather than reading, and building URLs from, half a registry."""

    index_template = "admin/shop_index.html"

    # The shop's name (``SHOP_NAME``) rather than "Django administration"; read on every page, so a
    # test's ``settings`` override shows too.
    @property
    def site_header(self) -> str:
        return settings.SHOP_NAME

    @property
    def site_title(self) -> str:
        return f"{settings.SHOP_NAME} staff"

    @property
    def index_title(self) -> str:
        return "Today in the shop"

    @property
    def site_url(self) -> str:
        """Where "View site" leads: the storefront or the API's docs (``SHOP_SITE_URL``), never a 404."""
        return settings.SHOP_SITE_URL

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        """The index with the staff's dashboard above the list of sections. The dashboard reads the
        contexts (``ADMIN_DASHBOARD``, in ``contexts``): the kernel names it by path and imports it here,
        on the first visit to the index, so neither the kernel nor an API worker ever imports it."""
        build = import_string(settings.ADMIN_DASHBOARD)
        return super().index(request, {"dashboard": build(request), **(extra_context or {})})

    _discovered = False
    _discovering = False
    _discovery_lock = threading.RLock()  # re-entrant: discovery's own reads come back through here

    @property
    def _registry(self) -> dict[type[Model], admin.ModelAdmin]:
        if not self._discovered:
            with self._discovery_lock:
                if not self._discovered and not self._discovering:
                    self._discovering = True
                    try:
                        admin.autodiscover()  # an error raises again on the next read, as at start-up
                        self._discovered = True
                    finally:
                        self._discovering = False
        return self._models

    @_registry.setter
    def _registry(self, models: dict[type[Model], admin.ModelAdmin]) -> None:
        self._models = models

"""Django's admin as the shop installs it: the staff screens load where they are used."""

from django.contrib.admin.apps import SimpleAdminConfig


class AdminConfig(SimpleAdminConfig):
    """Django's admin, whose ``admin.py`` modules a web worker loads with the first request under /admin/.

    Customers' requests never touch the staff screens, yet discovering them at start-up loads every
    context's ``admin.py`` and those of the installed apps, with their ModelAdmins: ~0.7 MB in each
    gunicorn worker. ``commerce.wsgi`` turns discovery at start-up off before Django starts, and the
    admin's URLs (``commerce.admin_urls``, resolved on first use) discover then. Everywhere else
    (management commands, the tests, the development server) discovery happens at start-up as with
    Django's own ``AdminConfig``, so ``manage.py check`` validates every ModelAdmin.
    """

    discover_at_start_up = True

    def ready(self) -> None:
        super().ready()
        if AdminConfig.discover_at_start_up:
            self.module.autodiscover()

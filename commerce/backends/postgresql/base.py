"""Django's PostgreSQL backend, measured (``commerce.backends._measured``), as django-prometheus' is."""

from django.db.backends.postgresql import base
from django_prometheus.db.backends.postgresql.base import DatabaseWrapper as PrometheusDatabaseWrapper

from commerce.backends._measured import measured_cursor


class DatabaseWrapper(PrometheusDatabaseWrapper):
    def get_connection_params(self):  # type: ignore[no-untyped-def]
        params = base.DatabaseWrapper.get_connection_params(self)  # psycopg makes the measured cursors
        params["cursor_factory"] = measured_cursor(params["cursor_factory"], self.alias, self.vendor)
        return params

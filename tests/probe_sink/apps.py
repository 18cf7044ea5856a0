from django.apps import AppConfig


class ProbeSinkConfig(AppConfig):
    name = "tests.probe_sink"
    label = "probe_sink"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tests.probe_sink import handlers  # noqa: F401

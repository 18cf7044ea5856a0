from django.apps import AppConfig


class FloorConfig(AppConfig):
    name = "floor"
    label = "floor"

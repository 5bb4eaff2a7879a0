from django.apps import AppConfig


class GraphEmulatorConfig(AppConfig):
    name = "graph_emulator"
    verbose_name = "Graph emulator"

"""The admin's frame: what operators use comes first, the machinery under its own heading.

The index and the sidebar both list get_app_list's groups: Recorder's own pages (Calls,
Record operations and Prompts first), the user accounts, then "Diagnostics" (Graph
exchanges, notifications, task results and the emulator's pages), which, like every group,
holds only the models the user may see, and is left out when that is none.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path, reverse

# The pages operators work in, in this order, ahead of everything else.
FIRST = ("recordings.call", "recordings.recordoperation", "recordings.promptaudio")
# The models and whole apps that go under Diagnostics.
DIAGNOSTIC_MODELS = frozenset({"recordings.graphexchange", "recordings.notification"})
DIAGNOSTIC_APPS = frozenset({"graph_emulator", "django_tasks_database"})
DIAGNOSTICS = "diagnostics"
# The apps' order; any other app follows, alphabetically as Django has it.
APP_ORDER = ("recordings", "auth", "axes")


def _label(app_label: str, model: dict) -> str:
    return f"{app_label}.{model['object_name'].lower()}"


class RecorderAdminSite(admin.AdminSite):
    site_header = "Recorder"
    site_title = "Recorder"
    index_title = "Calls and recordings"

    def get_urls(self):
        return [
            path(
                f"{DIAGNOSTICS}/",
                self.admin_view(self.app_index),
                {"app_label": DIAGNOSTICS},
                name=DIAGNOSTICS,
            ),
            *super().get_urls(),
        ]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = self._build_app_dict(request)
        diagnostics: list[dict] = []
        groups: list[dict] = []
        for label, app in apps.items():
            kept = []
            for model in app["models"]:
                if label in DIAGNOSTIC_APPS or _label(label, model) in DIAGNOSTIC_MODELS:
                    diagnostics.append({**model, "app_name": app["name"]})
                else:
                    kept.append(model)
            if kept:
                groups.append({**app, "models": self._ordered(label, kept)})
        groups.sort(
            key=lambda app: (
                APP_ORDER.index(app["app_label"])
                if app["app_label"] in APP_ORDER
                else len(APP_ORDER),
                app["name"].lower(),
            )
        )
        if diagnostics:
            groups.append(
                {
                    "name": "Diagnostics",
                    "app_label": DIAGNOSTICS,
                    "app_url": f"{self._index_url()}{DIAGNOSTICS}/",
                    "has_module_perms": True,
                    "models": diagnostics,
                }
            )
        if app_label is not None:
            return [app for app in groups if app["app_label"] == app_label]
        return groups

    def _ordered(self, app_label: str, models: list[dict]) -> list[dict]:
        def position(model: dict) -> tuple[int, str]:
            label = _label(app_label, model)
            first = FIRST.index(label) if label in FIRST else len(FIRST)
            return first, model["name"].lower()

        return sorted(models, key=position)

    def _index_url(self) -> str:
        return reverse("admin:index", current_app=self.name)

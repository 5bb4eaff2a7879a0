from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include("recordings.api_urls")),
    path("", include("recordings.web_urls")),
]

if settings.GRAPH_EMULATOR:
    urlpatterns.append(path("emulator/", include("graph_emulator.urls")))

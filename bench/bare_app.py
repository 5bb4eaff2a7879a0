"""The baseline for bench/webhook.py: a bare Django view that answers 202, nothing else.

Served by gunicorn exactly like Recorder, so the ratio between the two measures what
Recorder's webhook adds (token check, storing, applying), not the server.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
)


@csrf_exempt
def accept(request):
    request.body  # noqa: B018 - read the body, as any real receiver must
    return HttpResponse(status=202)


urlpatterns = [path("api/calls", accept)]

application = get_wsgi_application()

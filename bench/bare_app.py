"""The baseline for bench/webhook.py: a bare Django view that answers 202, nothing else.

It runs with Recorder's own settings and middleware (bench.bare_settings), served by
gunicorn exactly like Recorder, so the ratio between the two measures what the webhook
itself adds (checking the token, storing, applying), not the server or the framework.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def accept(request):
    request.body  # noqa: B018 - read the body, as any real receiver must
    return HttpResponse(status=202)


urlpatterns = [path("api/calls", accept)]

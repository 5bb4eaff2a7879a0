"""What more than one surface's views need."""

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def recording_location_for(request: HttpRequest) -> Callable[[str], str]:
    """Makes an operation's recordingLocation: the media route on the host that was asked."""

    def location_for(op_id: str) -> str:
        return request.build_absolute_uri(reverse("graph_emulator:recording", args=[op_id]))

    return location_for

"""Operators as the admin sees them: staff users with exactly the permissions a test names,
logged in on a test client, and the addresses of the pages they use."""

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

VIEW_CALL = "view_call"
VIEW = "view_recordoperation"

LIST = "/admin/recordings/recordoperation/"
EXPORT = "/admin/recordings/recordoperation/export/"
# A recording access token as Graph hands one out: no operator's page may show it.
TOKEN = "eyJ-recording-access-token-never-shown"


def operator(*codenames: str, username: str = "operator") -> Client:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="recordings", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def page_of(operation) -> str:
    return reverse("admin:recordings_recordoperation_change", args=[operation.pk])


def cancel_page(operation) -> str:
    return reverse("admin:recordings_recordoperation_cancel", args=[operation.pk])

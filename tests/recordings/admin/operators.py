"""Staff users with exactly the permissions a test names, logged in on a test client."""

from django.contrib.auth.models import Permission, User
from django.test import Client

VIEW_CALL = "view_call"


def operator(*codenames: str, username: str = "operator") -> Client:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="recordings", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    client.user = user
    return client

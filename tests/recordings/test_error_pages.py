"""Error pages in the admin's frame, and the site's icon."""

import pytest
from django.template.loader import render_to_string
from django.test import Client

from tests.support.operators import operator

pytestmark = pytest.mark.django_db


def test_a_403_is_in_the_admins_frame_with_a_way_back(call):
    response = operator().get(f"/admin/recordings/call/{call.pk}/record/")
    html = response.content.decode()
    assert response.status_code == 403
    assert '<div id="site-name"><a href="/admin/">Recorder</a></div>' in html
    assert "<h1>Not allowed</h1>" in html
    assert 'href="/admin/" class="button">Back to Recorder' in html


def test_a_404_is_in_the_admins_frame_with_a_way_back(settings):
    settings.DEBUG = False
    response = Client().get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in html
    assert 'href="/admin/" class="button">Back to Recorder' in html


def test_the_500_page_stands_on_its_own():
    html = render_to_string("500.html")
    assert "<h1>Something went wrong</h1>" in html
    assert 'href="/admin/"' in html


def test_the_favicon_is_served_and_linked_from_every_admin_page(admin_client):
    icon = Client().get("/favicon.ico")
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"
    page = admin_client.get("/admin/").content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in page

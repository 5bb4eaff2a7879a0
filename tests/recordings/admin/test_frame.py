"""The admin's frame: the navigation's order and its Diagnostics heading."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse

from graph_emulator.models import Fault
from tests.support.operators import VIEW_CALL, operator

pytestmark = pytest.mark.django_db


def app_list_for(client):
    request = RequestFactory().get("/admin/")
    request.user = client.user
    return admin.site.get_app_list(request)


def test_calls_recordings_and_prompts_come_first_and_the_machinery_under_diagnostics(
    admin_user,
):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    groups = admin.site.get_app_list(request)

    first = groups[0]
    assert [m["object_name"] for m in first["models"]][:3] == [
        "Call",
        "RecordOperation",
        "PromptAudio",
    ]
    assert groups[-1]["name"] == "Diagnostics"
    diagnostic = {m["object_name"] for m in groups[-1]["models"]}
    assert {"GraphExchange", "Notification", "DBTaskResult", "SigningKey", "Fault"} <= diagnostic
    # Each page is listed once.
    urls = [m["admin_url"] for g in groups for m in g["models"]]
    assert len(urls) == len(set(urls))


def test_an_operator_without_diagnostic_permissions_sees_no_diagnostics_heading():
    client = operator(VIEW_CALL, "view_recordoperation", "view_promptaudio")
    groups = app_list_for(client)
    assert [g["name"] for g in groups] == ["Recordings"]
    assert [m["object_name"] for m in groups[0]["models"]] == [
        "Call",
        "RecordOperation",
        "PromptAudio",
    ]
    page = client.get("/admin/").content.decode()
    assert "Diagnostics" not in page


def test_the_index_and_the_sidebar_list_calls_first_and_diagnostics_last(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert page.index("/admin/recordings/call/") < page.index("/admin/recordings/graphexchange/")
    assert re.search(r'<a href="/admin/diagnostics/"[^>]*>\s*Diagnostics', page)
    sidebar = admin_client.get("/admin/recordings/call/").content.decode()
    nav = sidebar[sidebar.index('id="nav-sidebar"') :]
    assert nav.index("/admin/recordings/call/") < nav.index("Diagnostics")


def test_the_diagnostics_page_lists_its_models(admin_client):
    page = admin_client.get("/admin/diagnostics/").content.decode()
    assert "/admin/recordings/graphexchange/" in page
    assert "/admin/recordings/call/" not in page.split('id="content"', 1)[1].split('id="footer"')[0]


def test_action_pages_leave_the_navigation_sidebar_out(call, admin_client):
    record = admin_client.get(reverse("admin:recordings_call_record", args=[call.pk]))
    hang_up = admin_client.get(reverse("admin:recordings_call_hang_up", args=[call.pk]))
    for page in (record, hang_up):
        html = page.content.decode()
        assert 'id="nav-sidebar"' not in html
        assert 'class="skip-to-content-link"' in html
    listing = admin_client.get("/admin/recordings/call/").content.decode()
    assert 'id="nav-sidebar"' in listing


def test_the_permission_picker_names_each_prompt_model_apart():
    names = list(
        Permission.objects.filter(codename__in=["view_prompt", "view_promptaudio"]).values_list(
            "name", flat=True
        )
    )
    assert sorted(names) == ["Can view library prompt", "Can view request prompt"]


def test_the_emulators_fault_switches_are_spelt_right():
    assert Fault._meta.verbose_name_plural == "fault switches"


def test_the_place_a_test_call_page_is_in_the_admins_frame(admin_client):
    html = admin_client.get(reverse("admin:graph_emulator_call_place")).content.decode()
    assert "admin/css/forms.css" in html
    assert '<ol class="breadcrumbs">' in html
    assert '<li aria-current="page">Place a test call</li>' in html
    assert 'id="nav-sidebar"' in html

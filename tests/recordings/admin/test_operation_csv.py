"""The operations list exported as CSV."""

import csv
import io

import pytest

from recordings.models import RecordOperation
from tests.support.factories import completed
from tests.support.operators import EXPORT, LIST, VIEW, operator

pytestmark = pytest.mark.django_db


def test_the_export_button_exports_the_filtered_list_as_csv(make_operation):
    completed(make_operation, graph_id="op-tone", reason="stopToneDetected")
    completed(make_operation, graph_id="op-max", reason="maxRecordDurationReached")
    client = operator(VIEW)

    assert f'href="{EXPORT}?"' in client.get(LIST).content.decode()
    page = client.get(LIST, {"completion_reason": "stopToneDetected"}).content.decode()
    assert f'href="{EXPORT}?completion_reason=stopToneDetected"' in page
    response = client.get(EXPORT, {"completion_reason": "stopToneDetected"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "operation id"
    assert [row[0] for row in rows[1:]] == ["op-tone"]


def test_a_spreadsheet_formula_in_a_csv_cell_is_defused(make_operation):
    operation = make_operation()
    RecordOperation.objects.filter(pk=operation.pk).update(client_context='=HYPERLINK("x")')
    response = operator(VIEW).get(EXPORT)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    context = rows[1][[h for h in rows[0]].index("client context")]
    assert context.startswith("'=")

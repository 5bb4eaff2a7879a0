"""The operations list at 1,000 and at 1,000,000 operations: does it stay as fast?

    .venv/bin/python bench/admin_changelist.py [--small 1000] [--large 1000000] [--runs 15]

Creates its own PostgreSQL database (`benchadmin`, or $BENCH_DATABASE, on the server of
BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres), migrates it, fills it
with --small operations spread over the last year (each with its call, record request and, when it
completed, its stored recording) by INSERT ... SELECT generate_series, and times the
operations changelist as a logged-in superuser with Django's test client: the median of
--runs requests after two warm-ups, the queries one request makes and the time they
took in the database (the rest is rendering, which does not grow with the table). It then tops the
table up to --large operations, ANALYZEs, and measures again. Prints both, their ratio
(target: at most 1.5) and the query counts (target: the same), plus a few filtered lists
for information (searches by a shortened id, by the caller's number with and without +, by
client context, a date range, the calls list), what the live route a page polls costs
(answered and 304), what the reasons chart costs when its cache is cold, and the plans of
the search queries at the large size (EXPLAIN: each must use an index). Drops the
database at the end, also on failure.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
DB_NAME = os.environ.get("BENCH_DATABASE", "benchadmin")
SERVER_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
LIST = "/admin/recordings/recordoperation/"
CALLS = "/admin/recordings/call/"
OPERATIONS_PER_CALL = 4
YEAR_SECONDS = 365 * 24 * 3600


def server(sql: str) -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(sql)


def database_url() -> str:
    base, _, _ = SERVER_URL.rpartition("/")
    return f"{base}/{DB_NAME}"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recorder_site.settings")
    os.environ["TASKS_BACKEND"] = "dummy"
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client's "testserver" host in


# One INSERT ... SELECT per table; i numbers the new operations from start to end. The mix:
# 85 % completed (four Graph reasons), 12 % failed (cancelled, prompt failed, closed by
# Recorder), 3 % still running; a quarter asked by no one (the command line).
FILL_SQL = """
INSERT INTO recordings_call (id, graph_id, state, direction, caller_id, caller_name,
    tenant_id, result_message, created_at, updated_at, answered_at, ended_at)
SELECT %(call_base)s + c, 'bench-call-' || (%(call_base)s + c), 'terminated', 'incoming',
    '+1555' || lpad(c::text, 7, '0'), '', 'tenant', '', t, t, t, t
FROM generate_series(1, %(calls)s) AS c,
    LATERAL (SELECT now() - random() * interval '365 days') AS w(t);

CREATE TEMP TABLE bench_times AS
SELECT i, now() - random() * interval '365 days' AS t
FROM generate_series(%(start)s, %(end)s) AS i;

INSERT INTO recordings_recordrequest (id, call_id, profile, requested_by_id, requested_at,
    max_record_duration, stop_tones, client_context, recording_format, status,
    client_request_id, graph_request_id, body_sent, response_status, response_body,
    error_code, error_message)
SELECT i, %(call_base)s + 1 + (i %% %(calls)s), 'beta-record',
    CASE WHEN i %% 4 = 0 THEN NULL ELSE (%(users)s)[1 + i %% 3] END, t,
    30, '["#"]'::jsonb, 'ctx-' || i, '', 'accepted', gen_random_uuid(), '',
    '{"maxRecordDurationInSeconds": 30, "stopTones": ["#"]}'::jsonb, 200, '', '', ''
FROM bench_times;

INSERT INTO recordings_recordoperation (id, graph_id, call_id, record_request_id, profile,
    status, completion_reason, recorder_reason, result_message, recording_location,
    recording_access_token, client_context, legal_hold, created_at, updated_at, finished_at)
SELECT i, gen_random_uuid()::text, %(call_base)s + 1 + (i %% %(calls)s), i, 'beta-record',
    CASE WHEN i %% 100 < 85 THEN 'completed' WHEN i %% 100 < 97 THEN 'failed'
        ELSE 'running' END,
    CASE WHEN i %% 100 < 40 THEN 'stopToneDetected'
        WHEN i %% 100 < 60 THEN 'maxRecordDurationReached'
        WHEN i %% 100 < 75 THEN 'maxSilenceTimeout'
        WHEN i %% 100 < 85 THEN 'initialSilenceTimeout'
        WHEN i %% 100 < 92 THEN 'operationCanceled'
        WHEN i %% 100 < 95 THEN 'playPromptFailed'
        ELSE '' END,
    CASE WHEN i %% 100 IN (95, 96) THEN 'callEnded' ELSE '' END,
    '', '', 'bench-token-not-shown', 'ctx-' || i, false, t, t,
    CASE WHEN i %% 100 < 97 THEN t + interval '20 seconds' END
FROM bench_times;

INSERT INTO recordings_recording (id, operation_id, status, attempts, error, file,
    size_bytes, sha256, duration_seconds, sample_rate, channels, sample_width_bytes,
    waveform_svg, created_at, updated_at, stored_at)
SELECT i, i, 'stored', 1, '', 'recordings/bench/' || i || '.wav', 32000 * (1 + i %% 30), '',
    1 + i %% 30, 16000, 1, 2, '', t, t, t
FROM bench_times
WHERE i %% 100 < 85;

DROP TABLE bench_times;
"""


def fill(start: int, end: int, users: list[int]) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM recordings_call")
        call_base = cursor.fetchone()[0]
        calls = max(1, (end - start + 1) // OPERATIONS_PER_CALL)
        params = {"start": start, "end": end, "calls": calls, "call_base": call_base}
        params["users"] = users
        for statement in filter(str.strip, FILL_SQL.split(";\n")):
            cursor.execute(statement, params)
        # As autovacuum leaves a table in use: statistics and the visibility map up to date.
        cursor.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def measure(client, url: str, runs: int) -> tuple[float, int, float]:
    """Median time of one request, its query count, and the median time those queries
    took in the database (the part that could grow with the table; the rest is rendering)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # A chart cached at another table size would be stale, and would expire mid-run.
    cache.clear()
    for _ in range(2):  # warm-up: sessions, the chart cache, the database's own caches
        client.get(url)
    times, queries, database = [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        queries.append(len(captured.captured_queries))
        database.append(sum(float(q["time"]) for q in captured.captured_queries))
    return statistics.median(times), max(queries), statistics.median(database)


def chart_cold(runs: int = 3) -> float:
    from django.core.cache import cache

    from recordings.admin.operation_chart import reason_chart

    times = []
    for _ in range(runs):
        cache.clear()
        started = time.perf_counter()
        reason_chart(LIST)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def views(
    sample_id: str, caller: str, call_id: str, context: str, live_ids: str
) -> list[tuple[str, str]]:
    year = time.gmtime().tm_year
    today = time.strftime("%Y-%m-%d", time.gmtime())
    month_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
    return [
        ("operations list (default)", LIST),
        ("status = failed", f"{LIST}?status=failed"),
        ("reason = initial silence", f"{LIST}?completion_reason=initialSilenceTimeout"),
        ("reason = closed by Recorder", f"{LIST}?completion_reason=callEnded"),
        ("profile = beta-record", f"{LIST}?profile=beta-record"),
        (f"created in {year}", f"{LIST}?created_at__year={year}"),
        ("search by operation id", f"{LIST}?q={sample_id}"),
        ("search by shortened id", f"{LIST}?q={sample_id[:8].lower()}%E2%80%A6"),
        ("search by caller number", f"{LIST}?q=%2B{caller.lstrip('+')}"),
        ("search by number without +", f"{LIST}?q={caller.lstrip('+')}"),
        ("search by client context", f"{LIST}?q={context}"),
        (
            "created in the last 30 days",
            f"{LIST}?created_at__from={month_ago}&created_at__to={today}",
        ),
        ("calls list (default)", CALLS),
        ("calls: search by number", f"{CALLS}?q={caller.lstrip('+')}"),
        ("calls: search by id prefix", f"{CALLS}?q={call_id[:13]}"),
        ("live route, 100 rows", f"{LIST}live/?ids={live_ids}"),
    ]


def measure_304(client, url: str, runs: int) -> tuple[float, int, float]:
    """The live route asked again with the ETag it gave: what a page pays each second while
    nothing on it moved."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    etag = client.get(url)["ETag"]
    times, queries, database = [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers={"if-none-match": etag})
            times.append(time.perf_counter() - started)
        if response.status_code != 304:
            raise SystemExit(f"{url} answered {response.status_code}, not 304")
        queries.append(len(captured.captured_queries))
        database.append(sum(float(q["time"]) for q in captured.captured_queries))
    return statistics.median(times), max(queries), statistics.median(database)


def explain_searches(sample_id: str, caller: str, call_id: str) -> None:
    """The plans of the searches' own queries: each is an index scan, never a Seq Scan."""
    from recordings import selectors
    from recordings.models import RecordOperation

    ids = RecordOperation.objects.order_by().values_list("pk", flat=True)
    queries = {
        "operation id prefix": ids.filter(selectors.graph_id_prefix(sample_id[:8]))[:1000],
        "call id prefix": selectors.matching_calls(call_id[:13]).values("pk")[:1000],
        "caller number": selectors.matching_calls(caller.lstrip("+")).values("pk")[:1000],
        "client context": ids.filter(client_context="ctx-7")[:1000],
    }
    for name, queryset in queries.items():
        plan = queryset.explain()
        verdict = "index" if "Index" in plan and "Seq Scan" not in plan else "NO INDEX"
        print(f"\nEXPLAIN {name} ({verdict}):\n{plan}")


def run(args) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from recordings.models import RecordOperation

    call_command("migrate", verbosity=0)
    User = get_user_model()
    admin = User.objects.create_superuser("bench", "bench@example.invalid", "x")
    users = [User.objects.create_user(f"operator{n}", is_staff=True).pk for n in range(3)]
    client = Client()
    client.force_login(admin)

    results = {}
    filled = 0
    for size in (args.small, args.large):
        took = fill(filled + 1, size, users)
        filled = size
        print(f"filled {size:>9,} operations ({took:.1f} s)", flush=True)
        sample = RecordOperation.objects.select_related("call").order_by("-pk")[0]
        page = RecordOperation.objects.order_by("-created_at").values_list("pk", flat=True)
        live_ids = ",".join(str(pk) for pk in page[:100])
        urls = views(
            sample.graph_id.upper(),
            sample.call.caller_id,
            sample.call.graph_id,
            sample.client_context,
            live_ids,
        )
        results[size] = {name: measure(client, url, args.runs) for name, url in urls}
        results[size]["live route, 304"] = measure_304(client, urls[-1][1], args.runs)
        results[size]["chart"] = (chart_cold(), 0, 0.0)
        if size == args.large:
            explain_searches(sample.graph_id, sample.call.caller_id, sample.call.graph_id)

    small, large = results[args.small], results[args.large]
    print()
    print(f"{'':30} {args.small:>9,} rows {args.large:>11,} rows  ratio  queries   in the database")
    for name in small:
        if name == "chart":
            continue
        (t1, q1, d1), (t2, q2, d2) = small[name], large[name]
        print(
            f"{name:30} {t1 * 1000:9.1f} ms {t2 * 1000:11.1f} ms {t2 / t1:6.2f}  {q1:>2} / {q2:<2}"
            f"   {d1 * 1000:5.1f} / {d2 * 1000:5.1f} ms"
        )
    (c1, _, _), (c2, _, _) = small["chart"], large["chart"]
    print(
        f"{'reasons chart, cache cold':30} {c1 * 1000:9.1f} ms {c2 * 1000:11.1f} ms"
        f" {c2 / c1:6.2f}  (at most once a minute: cached)"
    )
    default = "operations list (default)"
    (t1, q1, _), (t2, q2, _) = small[default], large[default]
    ratio = t2 / t1
    verdict = "PASS" if ratio <= 1.5 and q1 == q2 else "FAIL"
    print(
        f"\n{verdict}: the default list takes {ratio:.2f}x the time at {args.large:,} rows "
        f"(target at most 1.5x), {q2} queries against {q1} (target: the same)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--keep", action="store_true", help="leave the database for a look (next run drops it)"
    )
    args = parser.parse_args()
    server(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    server(f"CREATE DATABASE {DB_NAME}")
    try:
        run(args)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may not have started; the drop still runs
            pass
        if args.keep:
            print(f"Kept the database: {database_url()}")
        else:
            server(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()

"""Webhook throughput: Recorder's `POST /api/calls` against a bare 202 view, same server.

    .venv/bin/python bench/webhook.py [-n 3000] [--rounds 3] [--concurrency 8]

Both are served by gunicorn as `make run` serves Recorder (gunicorn.conf.py), side by side on
loopback, and sent to in alternating rounds, so that a machine that slows down or speeds up
during the run weighs on both alike. Each notification is a signed v1.0 completion for an
operation of its own, so every one is verified, stored and applied, and its recording's
fetch queued (the database task backend, as `make run` has it). Prints for each the median
throughput of the rounds, p50/p99 latency over all of them, the server's CPU time per request
and, on PostgreSQL, the database server's (every `postgres` process on the machine, read from
/proc); the ratio of the two (the median of the rounds' ratios; target: at least 0.5) and of
their p99s (target: at most 3); and the statements one notification costs (counted
in-process on the same code path).

Then the floor: the statements a notification needs (move the operation, insert its
Recording row, queue the fetch, insert the raw row; on PostgreSQL the first three as one
statement, as Recorder sends them), one transaction per notification, straight through the
database driver (sqlite3 / psycopg), no Django and no HTTP, from as many threads as there
are senders; the webhook's throughput is shown as a fraction of it too.
The database is a fresh SQLite file unless DATABASE_URL is set.
"""

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

# Run as a script, so this folder is on sys.path.
from serving import REPO, collect_static, free_port, gunicorn, served_as

KID = "bench-key"
CLIENT_ID = "00000000-0000-4000-8000-00000000b07a"


def serve_keys(key) -> str:
    """Publish the bench's signing key the way Graph's OpenID configuration does."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    documents = {
        "/openid": {"issuer": "https://api.botframework.com", "jwks_uri": f"{base}/jwks"},
        "/jwks": {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"{base}/openid"


def notification(call_id: str, op_id: str) -> bytes:
    url = f"/communications/calls/{call_id}/operations/{op_id}"
    return json.dumps(
        {
            "value": [
                {
                    "changeType": "deleted",
                    "resourceUrl": url,
                    "resourceData": {
                        "@odata.type": "#microsoft.graph.recordOperation",
                        "id": op_id,
                        "status": "completed",
                        "completionReason": "stopToneDetected",
                        "resultInfo": {"code": 200, "subcode": 8510, "message": "stop tone"},
                        "recordingLocation": f"http://127.0.0.1/recordings/{op_id}",
                        "recordingAccessToken": "t",
                    },
                }
            ]
        }
    ).encode()


def running_operations(count: int):
    """A call with `count` running v1.0 record operations (after django.setup()); the call
    and the operations' Graph ids."""
    from recordings.models import Call, RecordOperation, RecordRequest

    call = Call.objects.create(graph_id=str(uuid.uuid4()), state="established")
    op_ids = [str(uuid.uuid4()) for _ in range(count)]
    requests_ = RecordRequest.objects.bulk_create(
        RecordRequest(call=call, profile="v1.0", client_context=op, status="accepted")
        for op in op_ids
    )
    RecordOperation.objects.bulk_create(
        RecordOperation(graph_id=op, call=call, record_request=r, client_context=op)
        for op, r in zip(op_ids, requests_, strict=True)
    )
    return call, op_ids


def signed_token(key, tenant_id: str) -> str:
    """A notification token as Graph signs one, for an hour from now."""
    now = int(time.time())
    return jwt.encode(
        {
            "iss": "https://graph.microsoft.com",
            "aud": CLIENT_ID,
            "tid": tenant_id,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        },
        key,
        algorithm="RS256",
        headers={"kid": KID},
    )


def process_stat(stat: Path) -> tuple[str, list[str]]:
    """A process's command name and the fields after it in /proc/<pid>/stat (utime and stime
    are [11] and [12], its waited-for children's [13] and [14]; the parent's pid is [1])."""
    name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
    return name, rest.split()


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by process `pid` and its children (gunicorn's workers)."""
    total = 0
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for one in pids:
        _, fields = process_stat(Path(f"/proc/{one}/stat"))
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float | None:
    """CPU time used so far by the PostgreSQL server on this machine: every `postgres`
    process, and the backends that have exited (counted in the postmaster's children's
    time). None when there is no such server to read."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = process_stat(stat)
        except OSError:
            continue  # gone meanwhile
        if name != "postgres":
            continue
        found = True
        total += int(fields[11]) + int(fields[12])
        if fields[1] == "1":  # the postmaster
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK") if found else None


def blast(
    url: str, bodies: list[bytes], token: str, concurrency: int, *, warming: bool = False
) -> tuple[float, list[float]]:
    """Send `bodies` from `concurrency` threads; the time it took and each one's latency.

    Anything but a 202 ends the bench, except while `warming`: a worker's first requests
    find its key cache empty, and while one fetches the signing keys the others answer 503
    after a moment (recordings/webhook.py); Graph delivers again, and so does this."""
    local = threading.local()

    def send(body: bytes) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        for _ in range(50 if warming else 1):
            response = session.post(
                url,
                data=body,
                timeout=30,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            if response.status_code != 503 or not warming:
                break
            time.sleep(0.1)
        if response.status_code != 202:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(send, bodies))
    return time.perf_counter() - started, latencies


FLOOR_STATEMENTS = (
    """UPDATE recordings_recordoperation SET completion_reason = {p}, result_code = {p},
    result_subcode = {p}, result_message = {p}, recording_location = {p},
    recording_access_token = {p}, status = 'completed', updated_at = {p}, finished_at = {p}
    WHERE LOWER(graph_id) = {p} AND status IN ('notStarted', 'running')
    RETURNING id, recording_location""",
    """INSERT INTO recordings_recording (operation_id, status, attempts, error, file, sha256,
    waveform_svg, created_at, updated_at) VALUES ({p}, 'pending', 0, '', '', '', '', {p}, {p})
    RETURNING id""",
    """INSERT INTO django_tasks_database_dbtaskresult (id, status, enqueued_at, args_kwargs,
    priority, task_path, worker_ids, queue_name, backend_name, run_after,
    exception_class_path, traceback) VALUES ({p}, 'READY', {p}, {j}, 0,
    'recordings.tasks.fetch_recording_task', {j}, 'default', 'default', {p}, '', '')""",
    """INSERT INTO recordings_notification (received_at, remote_addr, headers, body,
    body_sha256, token_claims, processed_at, matched, unmatched_operation_ids, error,
    traceback) VALUES ({p}, {p}, {j}, {p}, {p}, {j}, {p}, {true}, {j}, '', '')""",
)


# On PostgreSQL Recorder runs the first three as one statement, and so does the floor there.
FLOOR_COMPLETION_POSTGRESQL = """WITH moved AS ({update}),
    recording AS (INSERT INTO recordings_recording (operation_id, status, attempts, error,
    file, sha256, waveform_svg, created_at, updated_at) SELECT moved.id, 'pending', 0, '', '',
    '', '', %s, %s FROM moved WHERE moved.recording_location <> '' RETURNING id),
    task AS (INSERT INTO django_tasks_database_dbtaskresult (id, status, enqueued_at,
    args_kwargs, priority, task_path, worker_ids, queue_name, backend_name, run_after,
    exception_class_path, traceback) SELECT %s, 'READY', %s,
    jsonb_build_object('args', jsonb_build_array(recording.id), 'kwargs', '{{}}'::jsonb), 0,
    'recordings.tasks.fetch_recording_task', '[]'::jsonb, 'default', 'default', %s, '', ''
    FROM recording)
    SELECT moved.id FROM moved"""


def floor(database: dict, op_ids: list[str], bodies: list[bytes], concurrency: int) -> float:
    """Notifications per second through the driver alone: one transaction each, the
    statements Recorder's webhook runs, on one connection per thread."""
    from datetime import UTC, datetime

    sqlite = database["ENGINE"].endswith("sqlite3")
    if sqlite:
        import sqlite3

        marks = {"p": "?", "j": "?", "true": "1"}

        def connect():
            conn = sqlite3.connect(database["NAME"], timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
    else:
        import psycopg

        marks = {"p": "%s", "j": "%s::jsonb", "true": "true"}

        def connect():
            return psycopg.connect(
                host=database["HOST"] or "127.0.0.1",
                port=database["PORT"] or 5432,
                user=database["USER"],
                password=database["PASSWORD"] or None,
                dbname=database["NAME"],
            )

    update, recording, task, raw = (sql.format(**marks) for sql in FLOOR_STATEMENTS)
    completion = FLOOR_COMPLETION_POSTGRESQL.format(update=update)
    local = threading.local()

    def one(job: tuple[str, bytes]) -> None:
        op_id, body = job
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect()
        now = datetime.now(UTC)
        stamp = now.isoformat(" ") if sqlite else now
        forever = "9999-01-01 00:00:00" if sqlite else datetime(9999, 1, 1, tzinfo=UTC)
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        location = f"http://127.0.0.1/recordings/{op_id}"
        moving = ("stopToneDetected", 200, 8510, "stop tone", location, "t", stamp, stamp, op_id)
        if sqlite:
            cur.execute(update, moving)
            operation_pk, _ = cur.fetchone()
            cur.execute(recording, (operation_pk, stamp, stamp))
            (recording_pk,) = cur.fetchone()
            args = json.dumps({"args": [recording_pk], "kwargs": {}})
            cur.execute(task, (uuid.uuid4().hex, stamp, args, "[]", forever))
        else:
            cur.execute(completion, (*moving, stamp, stamp, uuid.uuid4().hex, stamp, forever))
        headers = json.dumps({"CONTENT_TYPE": "application/json"})
        sha = hashlib.sha256(body).hexdigest()
        cur.execute(raw, (stamp, "127.0.0.1", headers, body, sha, "{}", stamp, "[]"))
        conn.commit() if not sqlite else cur.execute("COMMIT")

    jobs = list(zip(op_ids, bodies, strict=True))
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, jobs))
    return len(jobs) / (time.perf_counter() - started)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000, help="notifications per server")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="recorder-bench-")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recorder_site.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3"),
        "NOTIFICATION_OPENID_CONFIG_URL": serve_keys(key),
        "GRAPH_CLIENT_ID": CLIENT_ID,
        "TASKS_BACKEND": "database",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    collect_static(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from recordings.models import RecordOperation

    call_command("migrate", verbosity=0)
    # The webhook's n, the statement count's 20, the warm-up's 50, the floor's n.
    call, op_ids = running_operations(2 * args.n + 70)
    token = signed_token(key, settings.GRAPH_TENANT_ID)
    bodies = [notification(call.graph_id, op) for op in op_ids[: args.n]]

    # Queries per notification, on the same code path, after the key cache is warm.
    client = Client(HTTP_HOST="127.0.0.1")
    sample = [notification(call.graph_id, op) for op in op_ids[args.n : args.n + 20]]
    warm_up = [notification(call.graph_id, op) for op in op_ids[args.n + 20 : args.n + 70]]
    floor_ops = op_ids[args.n + 70 :]
    floor_bodies = [notification(call.graph_id, op) for op in floor_ops]
    client.post(
        "/api/calls",
        sample[0],
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    with CaptureQueriesContext(connection) as queries:
        for body in sample[1:]:
            client.post(
                "/api/calls",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
    per_notification = len(queries.captured_queries) / len(sample[1:])
    connection.close()

    servers = {}
    try:
        for name, settings_module in (
            ("bare 202 view", "bench.bare_settings"),
            ("Recorder webhook", "recorder_site.settings"),
        ):
            port = free_port()
            process = gunicorn(port, {**env, "DJANGO_SETTINGS_MODULE": settings_module})
            servers[name] = (process, f"http://127.0.0.1:{port}/api/calls")
        for _, url in servers.values():
            blast(url, warm_up, token, args.concurrency, warming=True)  # both alike
        rounds = {name: [] for name in servers}
        latencies = {name: [] for name in servers}
        # PostgreSQL's CPU when it runs on this machine; SQLite's is the server's own.
        database_clock = (
            database_cpu_seconds
            if not env["DATABASE_URL"].startswith("sqlite") and database_cpu_seconds() is not None
            else None
        )
        size = args.n // args.rounds
        for number in range(args.rounds):
            # Alternating, so that a machine slowing down or speeding up weighs on both alike.
            order = list(servers) if number % 2 == 0 else list(reversed(servers))
            for name in order:
                process, url = servers[name]
                chunk = bodies[number * size : (number + 1) * size]
                before = cpu_seconds(process.pid)
                database_before = database_clock() if database_clock else 0
                elapsed, times = blast(url, chunk, token, args.concurrency)
                used = cpu_seconds(process.pid) - before
                database_used = database_clock() - database_before if database_clock else 0
                rounds[name].append((size / elapsed, used / size, database_used / size))
                latencies[name].extend(times)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)

    print(
        f"{size * args.rounds} notifications per server in {args.rounds} alternating rounds, "
        f"{args.concurrency} concurrent senders, gunicorn {served_as()}, "
        f"database {env['DATABASE_URL'].split(':', 1)[0]}"
    )
    for name in servers:
        rate = statistics.median(r for r, _, _ in rounds[name])
        cpu = statistics.median(c for _, c, _ in rounds[name])
        database_cpu = statistics.median(d for _, _, d in rounds[name])
        times = latencies[name]
        print(
            f"  {name:18} {rate:8.0f} req/s   p50 {percentile(times, 50) * 1000:6.1f} ms"
            f"   p99 {percentile(times, 99) * 1000:6.1f} ms"
            f"   server CPU {cpu * 1000:5.2f} ms/req"
            + (f"   database CPU {database_cpu * 1000:5.2f} ms/req" if database_clock else "")
        )
    database = dict(connection.settings_dict)
    connection.close()
    floor_rate = floor(database, floor_ops, floor_bodies, args.concurrency)
    webhook_rate = statistics.median(r for r, _, _ in rounds["Recorder webhook"])
    print(
        f"  {'floor (driver only)':18} {floor_rate:8.0f} req/s   "
        f"the same statements, one transaction each, {args.concurrency} threads"
    )
    ratios = [
        recorder / bare
        for (bare, _, _), (recorder, _, _) in zip(
            rounds["bare 202 view"], rounds["Recorder webhook"], strict=True
        )
    ]
    print(
        f"  ratio Recorder / bare: {statistics.median(ratios):.2f} (target >= 0.5; "
        f"rounds {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(f"  ratio Recorder / floor: {webhook_rate / floor_rate:.2f}")
    p99 = {name: percentile(times, 99) for name, times in latencies.items()}
    print(
        f"  p99 Recorder / bare: {p99['Recorder webhook'] / p99['bare 202 view']:.1f} (target <= 3)"
    )
    print(f"  statements per notification: {per_notification:.1f}, BEGIN and COMMIT included")
    applied = RecordOperation.objects.filter(status="completed").count()
    print(f"  operations completed by the run: {applied}")


if __name__ == "__main__":
    main()

"""Instructions per notification: Recorder's webhook against the bare 202 view, counted.

    .venv/bin/python bench/instructions.py [-n 200]

bench/webhook.py times both under load, on a machine whose speed can change by half from
one minute to the next. This one counts: each view takes N signed v1.0 completions
in-process (Django's WSGI handler, no HTTP server, one at a time), under valgrind's
callgrind, which counts the instructions the process runs, the same count for the same code
and input whatever else the machine is doing. Each is run twice, with 20 notifications and
with 20 + N, and the difference divided by N is what one notification costs, the setting up
(Python, Django, the database) taken out. Prints that for each view and their ratio.

It counts the web process's own instructions only: not the kernel's (a round trip to the
database costs more there than here), not the database server's, and not waiting. So it is
for telling whether a change to the notification path makes it cheaper, not how fast it is.
The database is a fresh SQLite file unless DATABASE_URL is set. Needs valgrind (Debian:
`apt install valgrind`); about a minute a run under it.
"""

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Run as a script, so this folder is on sys.path.
from serving import REPO
from webhook import CLIENT_ID, notification, running_operations, serve_keys, signed_token

WARM_UP = 50
BASE = 20
VIEWS = (("bare 202 view", "bench.bare_settings"), ("Recorder webhook", "recorder_site.settings"))


def child(count: int, key_file: str) -> None:
    """In the counted process: set up, take WARM_UP notifications, then `count` more."""
    key = serialization.load_pem_private_key(Path(key_file).read_bytes(), None)
    os.environ["NOTIFICATION_OPENID_CONFIG_URL"] = serve_keys(key)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The same number of operations whatever `count`, so that setting up costs the same.
    call, op_ids = running_operations(WARM_UP + int(os.environ["BENCH_MOST"]))
    token = signed_token(key, settings.GRAPH_TENANT_ID)
    bodies = [notification(call.graph_id, op) for op in op_ids]
    app = WSGIHandler()

    def post(body: bytes) -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/calls",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        statuses = []
        answer = app(environ, lambda status, headers: statuses.append(status))
        b"".join(answer)
        answer.close()
        if not statuses[0].startswith("202"):
            raise SystemExit(f"the view answered {statuses[0]}")

    for body in bodies[: WARM_UP + count]:
        post(body)


def counted(settings_module: str, count: int, env: dict, key_file: str, out: Path) -> int:
    """The instructions a child process taking `count` notifications ran."""
    result = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"),
            *(sys.executable, __file__, "--child", str(count), "--key", key_file),
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": settings_module},
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : ([\d,]+)", result.stderr)
    if result.returncode != 0 or not found:
        raise SystemExit(f"the counted run failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="notifications counted per view")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.key)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit(
            "This bench counts with valgrind, which is not installed "
            "(Debian: apt install valgrind)."
        )

    tmp = Path(tempfile.mkdtemp(prefix="recorder-instructions-"))
    key_file = tmp / "key.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    database_url = os.environ.get("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GRAPH_CLIENT_ID": CLIENT_ID,
        "TASKS_BACKEND": "database",
        "LOG_LEVEL": "WARNING",
        "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore",
        "BENCH_MOST": str(BASE + args.n),
    }
    # Migrated once beforehand, so that each counted run finds the same database.
    subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--verbosity=0"],
        env={**env, "DJANGO_SETTINGS_MODULE": "recorder_site.settings"},
        check=True,
    )
    per_notification = {}
    for name, settings_module in VIEWS:
        base = counted(settings_module, BASE, env, str(key_file), tmp / "base.out")
        more = counted(settings_module, BASE + args.n, env, str(key_file), tmp / "more.out")
        per_notification[name] = (more - base) / args.n
    shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"instructions per notification, in-process, counted by callgrind over {args.n} "
        f"notifications, database {database_url.split(':', 1)[0]}"
    )
    for name, count in per_notification.items():
        print(f"  {name:18} {count:12,.0f}")
    ratio = per_notification["Recorder webhook"] / per_notification["bare 202 view"]
    print(f"  ratio Recorder / bare: {ratio:.2f}")


if __name__ == "__main__":
    main()

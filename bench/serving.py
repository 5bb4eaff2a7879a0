"""What the benchmarks share: a free loopback port, and Recorder served by gunicorn the way
`make run` serves it (gunicorn.conf.py: gthread, 2 workers x 8 threads)."""

import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_as() -> str:
    """How the servers are run, for the benchmarks' headings: "gthread 2x8"."""
    settings: dict = {}
    exec(CONFIG.read_text(), settings)  # noqa: S102 - the project's own configuration
    return f"{settings['worker_class']} {settings['workers']}x{settings['threads']}"


def collect_static(env: dict) -> None:
    """Gather the static files into settings.STATIC_ROOT (var/static), as `make static` does,
    if that hasn't been done in this checkout: Recorder's middleware serves them from there,
    and every process that loads it warns that the folder is missing, which a fresh clone's
    bench would print above its figures. gunicorn() calls it; a bench that loads Recorder in
    its own process first calls it before that."""
    if (REPO / "var" / "static").is_dir():
        return
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "recorder_site.settings"},
        check=True,
    )


def gunicorn(port: int, env: dict, *, timeout: int = 30) -> subprocess.Popen:
    """Start gunicorn on `port` with `env` (its DJANGO_SETTINGS_MODULE picks the site) and
    return once it accepts connections."""
    collect_static(env)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "recorder_site.wsgi:application"),
            *("--config", str(CONFIG), "--bind", f"127.0.0.1:{port}"),
            *("--timeout", str(timeout), "--log-level", "warning"),
        ],
        cwd=REPO,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gunicorn did not start on port {port}")

"""Recording download: Recorder's fetch path against curl, from the same emulator, same run.

    .venv/bin/python bench/download.py [--megabytes 200]

The emulator (served by gunicorn on loopback, as `make run` serves it) makes a WAV of the
asked size at once (`POST /emulator/control/recordings`). curl downloads it once to warm
the page cache, then in each round Recorder's whole fetch path (`fetching.fetch_recording`:
allow-list check, streamed GET through GraphSession, SHA-256, WAV check, waveform, storage)
runs in a fresh process, then curl downloads it to a file. Prints the median throughput of
each, their ratio (target: at least 0.5) and the peak memory growth of the fetching process
(target: at most 32 MB): its peak RSS during the fetch less its RSS just before, the
kernel's high-water mark reset in between. BENCH_PROFILE=FILE writes a cProfile of each
fetch to FILE (the last round's remains).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

# Run as a script, so this folder is on sys.path.
from serving import REPO, free_port, gunicorn, served_as

MB = 1024 * 1024
WAV_BYTES_PER_SECOND = 16000 * 2  # the emulator's 16 kHz mono 16-bit


def curl(url: str, token: str, out: Path) -> tuple[float, int]:
    started = time.perf_counter()
    subprocess.run(
        [
            *("curl", "--silent", "--show-error", "--fail", "--noproxy", "*"),
            *("-o", str(out), "-H", f"Authorization: Bearer {token}", url),
        ],
        check=True,
    )
    elapsed = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    return elapsed, size


def proc_status(field: str) -> int:
    """A /proc/self/status memory figure (VmRSS, VmHWM) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def child(recording_pk: int) -> None:
    """Run Recorder's fetch path once in this fresh process and report time and memory."""
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from recordings.models import Recording
    from recordings.services import fetching as fetch_services

    # Everything the fetch imports is loaded now; the measure starts from here.
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = proc_status("VmRSS")
    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.runctx(
            "fetch_services.fetch_recording(recording_pk=recording_pk)",
            globals(),
            locals(),
            os.environ["BENCH_PROFILE"],
        )
    else:
        fetch_services.fetch_recording(recording_pk=recording_pk)
    elapsed = time.perf_counter() - started
    peak = proc_status("VmHWM")
    recording = Recording.objects.get(pk=recording_pk)
    print(
        json.dumps(
            {
                "status": recording.status,
                "error": recording.error,
                "bytes": recording.size_bytes,
                "seconds": elapsed,
                "rss_before": before,
                "peak": peak,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=200, help="size of the WAV")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed for the comparison: apt install curl")

    tmp = Path(tempfile.mkdtemp(prefix="recorder-bench-download-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recorder_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "RECORDER_BASE_URL": base,
        "GRAPH_EMULATOR": "on",
        "GRAPH_EMULATOR_DATA_DIR": str(tmp / "emulator"),
        "MEDIA_ROOT": str(tmp / "media"),
        "RECORDING_DOWNLOAD_HOSTS": "127.0.0.1",
        "RECORDING_MAX_BYTES": str(1024 * MB),
        "TASKS_BACKEND": "dummy",
        "LOG_LEVEL": "WARNING",
        # Django's temporary files beside the media, so storing is a rename, as in production
        # with a local MEDIA_ROOT (object storage uploads instead).
        "TMPDIR": str(tmp),
    }
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from recordings.models import Call, Recording, RecordOperation, RecordRequest

    call_command("migrate", verbosity=0)
    server = gunicorn(port, env, timeout=300)
    try:
        seconds = args.megabytes * MB / WAV_BYTES_PER_SECOND
        made = requests.post(
            f"{base}/emulator/control/recordings", json={"seconds": seconds}, timeout=300
        )
        made.raise_for_status()
        made = made.json()
        url, token, size = made["recordingLocation"], made["recordingAccessToken"], made["bytes"]

        call = Call.objects.create(graph_id="bench-call", state="terminated")
        curl(url, token, tmp / "warm.wav")  # page cache and server warm for both alike
        fetches, curls = [], []
        # Alternating rounds, medians reported: loopback figures on a shared machine vary
        # from one second to the next, and alternating exposes both to the same weather.
        for round_ in range(args.rounds):
            request = RecordRequest.objects.create(
                call=call, profile="beta-record", client_context="bench", status="accepted"
            )
            operation = RecordOperation.objects.create(
                graph_id=f"{made['id']}-{round_}",
                call=call,
                record_request=request,
                status="completed",
                recording_location=url,
                recording_access_token=token,
                finished_at=timezone.now(),
            )
            recording = Recording.objects.create(operation=operation)
            connection.close()
            fetched = subprocess.run(
                [sys.executable, __file__, "--child", str(recording.pk)],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            if fetched.returncode:
                raise SystemExit(f"The fetching process failed:\n{fetched.stderr[-3000:]}")
            result = json.loads(fetched.stdout.strip().splitlines()[-1])
            if result["status"] != "stored" or result["bytes"] != size:
                raise SystemExit(f"Recorder's fetch failed: {result['error']}")
            fetches.append(result)
            curl_seconds, curl_size = curl(url, token, tmp / "curl.wav")
            if curl_size != size:
                raise SystemExit(f"curl got {curl_size} bytes of {size}")
            curls.append(curl_seconds)
            shutil.rmtree(tmp / "media", ignore_errors=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    recorder_seconds = statistics.median(f["seconds"] for f in fetches)
    curl_seconds = statistics.median(curls)
    recorder_rate = size / recorder_seconds / MB
    curl_rate = size / curl_seconds / MB
    growth = max(f["peak"] - f["rss_before"] for f in fetches) / MB
    ratio = recorder_rate / curl_rate
    print(
        f"{size / MB:.0f} MB WAV from the emulator (gunicorn {served_as()}, loopback), "
        f"{args.rounds} alternating rounds, medians"
    )
    print(f"  Recorder fetch path  {recorder_rate:8.1f} MB/s  ({recorder_seconds:.2f} s)")
    print(f"  curl                 {curl_rate:8.1f} MB/s  ({curl_seconds:.2f} s)")
    print(f"  ratio                {ratio:8.2f}   (target >= 0.5)")
    print(f"  peak memory growth   {growth:8.1f} MB (target <= 32 MB; the largest of the rounds)")


if __name__ == "__main__":
    main()

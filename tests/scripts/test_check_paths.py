"""scripts/check-paths, which `make lint` runs: no file may reach outside the repository."""

import subprocess
import sys

import pytest

from tests.support.paths import REPO

CHECK = REPO / "scripts" / "check-paths"


def check(root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECK), str(root)], capture_output=True, text=True, check=False
    )


def repository(tmp_path, files: dict[str, str]):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


# Each line reaches outside a clone. They are put together from pieces, or carry the marker,
# so that this file itself names no such path.
UP = ".." + "/"
OUTSIDE = [
    'CONTRACT = Path("' + UP + 'shared/contract")',  # path-check: allow
    "cat " + UP + UP + "shared/docs/design.md",  # path-check: allow
    'open("/' + 'work/main/db.sqlite3")',
    'DATA = "/' + 'root/.cache/recorder"',
    'LOG = "/home/dev/recorder.log"',  # path-check: allow
    "cp report.txt ~/Desktop/",  # path-check: allow
    'mkdir -p "$HOME/recorder"',  # path-check: allow
    "samples = Path.home() / 'samples'",  # path-check: allow
    "samples = REPO.parent / 'samples'",  # path-check: allow
    "root = Path(__file__).parents[2] / 'shared'",  # path-check: allow
]


@pytest.mark.parametrize("line", OUTSIDE)
def test_it_fails_on_a_path_outside_the_repository(tmp_path, line):
    root = repository(tmp_path, {"tests/conftest.py": f"ok = 1\n{line}\n"})

    result = check(root)

    assert result.returncode == 1
    assert "tests/conftest.py:2:" in result.stdout


def test_it_checks_scripts_ci_and_configuration_too(tmp_path):
    bad = "cd /" + "work/main && make test\n"
    root = repository(tmp_path, {".ci/run": bad, "Makefile": "x:\n\techo ok\n"})

    result = check(root)

    assert result.returncode == 1
    assert ".ci/run:1:" in result.stdout
    assert "Makefile" not in result.stdout


def test_it_passes_paths_inside_the_repository_and_documents(tmp_path):
    root = repository(
        tmp_path,
        {
            "tests/conftest.py": 'CONTRACT = REPO / "tests" / "fixtures" / "graph"\n',
            "scripts/run": 'cd "$(dirname "$0")/.."\nPY=/usr/bin/python3\n',
            # A document may show a user's own paths.
            "README.md": "make run PYTHON=/home/you/python3.13\n",  # path-check: allow
        },
    )

    result = check(root)

    assert result.returncode == 0, result.stdout


def test_a_line_marked_deliberate_passes(tmp_path):
    marker = "# path-check: " + "allow"
    line = f'for p in "$HOME/.pyenv"/versions/*; do  {marker}\n'  # path-check: allow
    root = repository(tmp_path, {"scripts/find-python": line})

    assert check(root).returncode == 0


def test_the_repository_itself_passes():
    result = check(REPO)

    assert result.returncode == 0, result.stdout

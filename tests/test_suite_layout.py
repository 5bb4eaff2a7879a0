"""The suite's own rule: test modules share helpers through tests.support and fixtures through
conftest.py files, never by importing one another (which couples two modules' tests, and
runs the imported module's set-up where it was not asked for)."""

import ast

from tests.support.paths import REPO

TESTS = REPO / "tests"


def imported_modules(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_test_module(name: str) -> bool:
    """A test module, or a name inside one."""
    parts = name.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:])


def test_no_test_module_imports_another():
    offenders = {
        str(path.relative_to(REPO)): sorted(filter(is_test_module, imported_modules(path)))
        for path in sorted(TESTS.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_rule_sees_an_import_of_a_test_module(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from tests.e2e import test_browser\nfrom tests.e2e.test_browser import screenshots_dir\n"
    )
    assert sorted(filter(is_test_module, imported_modules(sample))) == [
        "tests.e2e.test_browser",
        "tests.e2e.test_browser.screenshots_dir",
    ]

"""Where the suite finds the repository and its own Graph fixtures."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The Graph request, response and notification samples the suite reads: its own fixtures.
GRAPH_FIXTURES = REPO / "tests" / "fixtures" / "graph"

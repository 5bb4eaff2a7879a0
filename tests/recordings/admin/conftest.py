import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def beta_profile(settings):
    settings.GRAPH_API_PROFILE = "beta-record"
    settings.GRAPH_API_BASE_URL = "http://graph.test/beta"


@pytest.fixture(autouse=True)
def _fresh_chart_cache():
    # The operations list's chart is cached for a minute; no test may see another's counts.
    cache.clear()
    yield
    cache.clear()

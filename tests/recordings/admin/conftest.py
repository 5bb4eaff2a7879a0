import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _admin_pages_speak_beta(beta_profile):
    # The Record page shows the beta profile's extra fields unless a test asks for v1.0.
    pass


@pytest.fixture(autouse=True)
def _fresh_chart_cache():
    # The operations list's chart is cached for a minute; no test may see another's counts.
    cache.clear()
    yield
    cache.clear()

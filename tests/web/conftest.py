import pytest
from .web_platform import Platform, make_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    """One platform per test module (building the world takes a while); tests that change state say so."""
    with pytest.MonkeyPatch.context() as mp:
        yield make_platform(tmp_path_factory.mktemp("platform"), mp)

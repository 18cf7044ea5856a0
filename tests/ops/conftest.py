import pytest

from tests.support.processes import collect_static


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """The static files as the run command and the container collect them."""
    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root

"""The orders tests' shop (the checkout's products, shipping, tax and WELCOME10): tests.support.checkout."""

import pytest

from tests.support.checkout import build_shop


@pytest.fixture
def shop(db):
    build_shop()

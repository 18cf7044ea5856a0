"""The run command's server: gunicorn, WhiteNoise static files (the admin is styled with DEBUG off),
Swagger UI and ReDoc from the installed sidecar package, never a CDN (issue 14 point 1, issue 9
point 2)."""

import gzip
import re
import signal
import time

import pytest
from django.test import Client, override_settings

from tests.support.processes import get, running_gunicorn


@pytest.fixture
def production_static(collected_static, settings):
    """The default mode's static settings (DEBUG off, no finders, the shop's own storage) over the
    collected files."""
    from commerce import settings as shop_settings

    settings.DEBUG = False
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    with override_settings(STATIC_ROOT=collected_static, STORAGES=shop_settings.STORAGES):
        yield collected_static


def test_admin_stylesheet_answers_200_with_debug_off(production_static):
    response = Client().get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content).startswith(b"/*")


@pytest.mark.django_db
def test_admin_pages_link_cache_busted_stylesheets_that_are_served_compressed(production_static):
    page = Client().get("/admin/login/").content.decode()
    hashed = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert hashed, "the admin links its stylesheet by content-hashed name"

    response = Client().get(hashed.group(1), HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"]
    assert gzip.decompress(b"".join(response.streaming_content)).startswith(b"/*")


@pytest.mark.parametrize("path", ["/api/docs", "/api/docs/", "/api/redoc"])
def test_api_docs_load_their_assets_from_this_server_not_a_cdn(production_static, path):
    page = Client().get(path).content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r'"(/static/[^"]+\.js)"', page)
    assert assets, page
    assert not [url for url in assets if url.startswith(("http:", "https:", "//"))], assets
    scripts = [url for url in assets if url.endswith(".js")]
    assert scripts and all("/static/drf_spectacular_sidecar/" in url for url in scripts), scripts
    for url in assets:
        if url.startswith("/static/"):
            assert Client().get(url).status_code == 200, url


def test_the_run_command_serves_with_gunicorn_workers_and_stops_gracefully(collected_static):
    with running_gunicorn(workers=2, STATIC_ROOT=str(collected_static)) as (process, base):
        status, headers, body = get(f"{base}/static/admin/css/base.css")
        assert status == 200 and body.startswith(b"/*")
        assert "gunicorn" in headers.get("Server", "")
        status, _, body = get(f"{base}/api/docs")
        assert status == 200 and b"drf_spectacular_sidecar" in body

        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(timeout=40) == 0
        assert time.monotonic() - started < 30

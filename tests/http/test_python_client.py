"""A storefront team generates a Python client from the schema (openapi-python-client, the dev extra) and
gets every answer typed, the error answers included: a schema the generator warns about gives a client
that silently drops what it could not read (issue 22: 204 warnings, every error response omitted,
because the ``Error`` component's field errors were an ``array`` without ``items``)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    """The client generated from the schema, importable as ``commerce_api_client``; the generator's output."""
    if importlib.util.find_spec("openapi_python_client") is None or not GENERATOR.exists():
        pytest.skip(
            "openapi-python-client is not installed in this virtualenv: "
            'pip install -c requirements.lock -e ".[dev]" (bin/test does)'
        )
    work = tmp_path_factory.mktemp("client")
    schema = work / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    (work / "config.yaml").write_text("package_name_override: commerce_api_client\n")
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(schema), "--config", str(work / "config.yaml"),
         "--output-path", str(work / "commerce_api_client"), "--meta", "none"],
        cwd=work, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"},  # its ruff
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        yield result.stdout + result.stderr
    finally:
        sys.path.remove(str(work))
        for name in [name for name in sys.modules if name.split(".")[0] == "commerce_api_client"]:
            del sys.modules[name]


def test_the_generated_client_comes_without_a_warning(client_package):
    assert "warning" not in client_package.lower(), client_package[:3000]


def test_the_generated_client_reads_an_error_answer_as_a_typed_error(client_package):
    """A 404 from ``GET /products/{slug}`` becomes an ``Error`` with its ``code``, and an ``invalid`` answer
    keeps its field errors, nested ones too (a list of objects: one per line)."""
    from commerce_api_client.api.catalogue import products_retrieve
    from commerce_api_client.api.orders import orders_returns_create
    from commerce_api_client.client import Client
    from commerce_api_client.models.error import Error

    client = Client(base_url="http://shop.test")
    answer = httpx.Response(404, json={"code": "not_found", "detail": "No such product."})
    parsed = products_retrieve._build_response(client=client, response=answer).parsed
    assert isinstance(parsed, Error) and (parsed.code, parsed.detail) == ("not_found", "No such product.")

    body = {
        "code": "invalid",
        "detail": "lines: This field is required.",
        "errors": {"reason": ["This field is required."], "lines": [{"quantity": ["Too many."]}, {}]},
    }
    parsed = orders_returns_create._build_response(client=client, response=httpx.Response(400, json=body)).parsed
    assert isinstance(parsed, Error) and parsed.code == "invalid"
    assert parsed.to_dict()["errors"] == body["errors"]

"""A tiny JSON HTTP client on the standard library, for tests that drive a real WSGI server in parallel."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: Any
    headers: dict[str, str]


def request(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 120
) -> HttpResponse:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return HttpResponse(status=status, body=parsed, headers=got)

"""The cart path client: "create a cart and add a line", as pairs of requests, against any shop.

Importable by another script (standard library only)::

    from bench.checkout.cart_path import CartPath, cart_path

    run = cart_path("http://127.0.0.1:8240", skus=["SKU-1", "SKU-2"], pairs=400, clients=16)
    print(run.rate, run.latency_ms(0.99))  # pairs per second, p99 of a pair in ms

``shape`` says how that shop is asked: ``CartPath(create=..., add_line=...)``, where ``create()`` gives the
first request as (method, path, body, headers) and ``add_line(created, sku)`` gives the second from the
first's ``Response`` (its body for the cart's id, or its ``Set-Cookie`` header for a shop that keeps the
basket in the session). A pair counts as done when both answers have an accepted status; the time of a
pair is from the first request's start to the second's end.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.checkout.drive import Response, Run, request, run_clients

Request = tuple[str, str, Any, dict[str, str]]


@dataclass(frozen=True, slots=True)
class CartPath:
    create: Callable[[], Request]
    add_line: Callable[[Response, str], Request]
    created: tuple[int, ...] = (200, 201)
    added: tuple[int, ...] = (200, 201)


#: This shop's REST API: ``POST /api/v1/carts`` (a guest cart) then ``POST /api/v1/carts/{id}/lines``.
OURS = CartPath(
    create=lambda: ("POST", "/api/v1/carts", {}, {}),
    add_line=lambda created, sku: (
        "POST",
        f"/api/v1/carts/{created.body['id']}/lines",
        {"sku": sku, "quantity": 1},
        {},
    ),
    created=(201,),
    added=(201,),
)


def cart_path(base_url: str, *, skus: Sequence[str], pairs: int, clients: int = 16, shape: CartPath = OURS) -> Run:
    """``pairs`` create-and-add pairs by ``clients`` concurrent clients (the SKUs taken in turn): a ``Run``
    whose ``rate`` is pairs per second; a failed pair's status is the failing answer's."""

    def pair(index: int) -> tuple[int, Any]:
        method, path, payload, headers = shape.create()
        created = request(method, base_url + path, payload, headers)
        if created.status not in shape.created:
            return (created.status if created.status >= 300 else 599), created.body
        method, path, payload, headers = shape.add_line(created, skus[index % len(skus)])
        added = request(method, base_url + path, payload, headers)
        if added.status not in shape.added:
            return (added.status if added.status >= 300 else 599), added.body
        return 201, None

    return run_clients(clients, range(pairs), pair)

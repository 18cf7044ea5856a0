"""The extraction map (tools/extraction_map.py) tells the truth about the code: what it says each context
calls, publishes, consumes and owns is checked against the running registries (events, subscriptions,
the checkout saga), and its order of extraction is checked on a small tree of made-up contexts whose
ties are known. The facts asserted on the real code hold with or without a notifications context."""

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from commerce.eventbus.subscriptions import subscriptions_for
from commerce.eventbus.types import registered_event_types

ROOT = Path(__file__).resolve().parents[2]
CONTEXTS = sorted(path.parent.name for path in (ROOT / "contexts").glob("*/__init__.py"))


def extraction_map(*arguments: str) -> str:
    return subprocess.run(
        [sys.executable, "tools/extraction_map.py", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def mapped() -> dict:
    return json.loads(extraction_map("--json"))


def test_every_context_is_mapped_and_ranked_once(mapped):
    assert sorted(mapped["contexts"]) == CONTEXTS
    assert sorted(entry["context"] for entry in mapped["order"]) == CONTEXTS
    assert [entry["rank"] for entry in mapped["order"]] == list(range(1, len(CONTEXTS) + 1))


def test_pricing_and_inventory_call_no_other_context_and_orders_calls_inventory(mapped):
    contexts = mapped["contexts"]
    assert contexts["pricing"]["calls"] == {}
    assert contexts["inventory"]["calls"] == {}
    assert {"reserve_stock", "commit_reservation", "release_reservation"} <= set(
        contexts["orders"]["calls"]["inventory"]
    )
    assert {"reserve_stock", "commit_reservation"} <= set(contexts["inventory"]["api_called_by"]["orders"])
    assert "quote" in contexts["pricing"]["api_called_by"]["cart"]
    assert any(site.startswith("contexts/orders/") for site in contexts["inventory"]["api_call_sites"])


def test_the_address_book_lent_through_the_wiring_is_a_call_from_orders_to_identity(mapped):
    assert mapped["contexts"]["identity"]["api_called_by"]["orders"] == ["saved_address_for_checkout"]


def test_every_registered_event_is_listed_under_its_publisher_with_where_it_is_built(mapped):
    for context in CONTEXTS:  # an events module registers its types when imported: import them all, as the map does
        if (ROOT / "contexts" / context / "events.py").exists():
            importlib.import_module(f"contexts.{context}.events")
    registered = {name for name in registered_event_types() if name.split(".")[0] in CONTEXTS}
    listed = {event["name"]: event for facts in mapped["contexts"].values() for event in facts["publishes"]}
    assert set(listed) == registered
    for name, event in listed.items():
        assert name.split(".")[0] in mapped["contexts"] and event in mapped["contexts"][name.split(".")[0]]["publishes"]
    assert any(site.startswith("contexts/orders/") for site in listed["orders.OrderPlaced"]["built_at"])


def test_consumers_read_from_the_code_are_the_subscriptions_registered_at_start_up(mapped):
    for facts in mapped["contexts"].values():
        for event in facts["publishes"]:
            subscribed = {s.context for s in subscriptions_for(event["name"]) if s.context in CONTEXTS}
            mapped_consumers = {
                name
                for name, other in mapped["contexts"].items()
                if event["name"] in {c["event"] for c in other["consumes"]}
            }
            assert mapped_consumers == subscribed, event["name"]
            assert event["consumed_by"] == sorted(subscribed - {event["name"].split(".")[0]})


def test_the_checkout_sagas_steps_are_listed_under_the_contexts_that_own_them(mapped):
    from contexts.orders.services._saga import CHECKOUT

    for step in CHECKOUT.steps:
        if step.owner in CONTEXTS and step.owner != "orders":
            owned = mapped["contexts"][step.owner]["saga"]["steps_owned"]
            assert {"orchestrator": "orders", "step": step.name, "owner": step.owner} in [
                {key: s[key] for key in ("orchestrator", "step", "owner")} for s in owned
            ]


def test_tables_are_the_contexts_own(mapped):
    tables = [table for facts in mapped["contexts"].values() for table in facts["tables"]]
    assert len(tables) == len(set(tables))
    assert "orders_order" in mapped["contexts"]["orders"]["tables"]
    assert "inventory_reservation" in mapped["contexts"]["inventory"]["tables"]
    assert not any(table.startswith("eventbus_") for table in tables)  # the kernel's, in every database


def test_a_context_that_only_listens_ranks_before_every_context_others_call(mapped):
    contexts, position = mapped["contexts"], {entry["context"]: entry["rank"] for entry in mapped["order"]}
    listeners = [
        name
        for name, facts in contexts.items()
        if not facts["api_called_by"] and not any(e["consumed_by"] for e in facts["publishes"])
    ]
    called = [name for name, facts in contexts.items() if facts["api_called_by"]]
    assert all(position[a] < position[b] for a in listeners for b in called)
    if "notifications" in contexts:  # the first to be lifted out (DESIGN.md)
        assert contexts["notifications"]["calls"] == {}
        assert position["notifications"] == 1


def test_the_text_map_names_every_context_and_the_suggested_order():
    printed = extraction_map()
    assert "Suggested order of extraction" in printed
    for name in CONTEXTS:
        assert f"\n{name} (app label" in f"\n{printed}"


# --- a tree of made-up contexts, ties known ------------------------------------------------------

FIXTURE = {
    "contexts/__init__.py": "",
    # stock: others call it, one listener reads its events, and it owns a step of shop's saga
    "contexts/stock/__init__.py": "",
    "contexts/stock/apps.py": "class StockConfig:\n    label = 'stock'\n",
    "contexts/stock/api.py": """
        from contexts.stock import services

        class Level:
            pass

        def reserve(*, sku: str) -> Level:
            return services.reserve(sku)
    """,
    "contexts/stock/events.py": """
        @domain_event("stock.Reserved", version=2)
        class Reserved(Event):
            pass
    """,
    "contexts/stock/services.py": """
        from contexts.stock.events import Reserved

        def reserve(sku):
            publish(Reserved(sku=sku))
    """,
    "contexts/stock/models.py": """
        class Level(models.Model):
            pass

        class Base(models.Model):
            class Meta:
                abstract = True
    """,
    # shop: calls stock, orchestrates a saga, publishes what the listener consumes, is lent an address book
    "contexts/shop/__init__.py": "",
    "contexts/shop/api.py": "def register_book(*, resolver) -> None:\n    pass\n",
    "contexts/shop/events.py": '@domain_event("shop.Placed")\nclass Placed(Event):\n    pass\n',
    "contexts/shop/services/__init__.py": """
        import contexts.stock.api as stock
        from contexts.shop import events

        STEPS = (Step("reserve", "stock", stock.reserve), Step(name="pay", owner="payment gateway"))

        def place():
            stock.reserve(sku="x")
            publish_many([events.Placed()])
    """,
    "contexts/shop/models.py": "class Order(models.Model):\n    class Meta:\n        db_table = 'shop_orders'\n",
    # listener: nobody calls it, nobody waits for it
    "contexts/listener/__init__.py": "",
    "contexts/listener/handlers.py": """
        from contexts.shop import events as shop_events
        from contexts.stock.events import Reserved

        @subscriber(Reserved)
        def note_when_reserved(event):
            pass

        @subscriber(shop_events.Placed, name="listener.placed")
        def note_when_placed(event):
            pass
    """,
    "contexts/listener/models.py": "class Note(models.Model):\n    pass\n\nclass Seen(Note):\n    pass\n",
    # book: lends shop its address book through the wiring
    "contexts/book/__init__.py": "",
    "contexts/book/api.py": "def lookup(*, address_id: int) -> None:\n    pass\n",
    "contexts/wiring.py": """
        def wire():
            from contexts.book import api as book_api
            from contexts.shop import api as shop_api

            shop_api.register_book(resolver=lambda address_id: book_api.lookup(address_id=address_id))
    """,
}


@pytest.fixture(scope="module")
def made_up(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tree")
    for name, source in FIXTURE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(source).lstrip())
    return json.loads(extraction_map("--json", "--root", str(root)))


def test_the_made_up_trees_ties_are_read_from_its_syntax(made_up):
    stock, shop, listener, book = (made_up["contexts"][name] for name in ("stock", "shop", "listener", "book"))
    assert stock["api_called_by"] == {"shop": ["reserve"]}
    assert shop["calls"] == {"book": ["lookup"], "stock": ["reserve"]}  # book's lent through the wiring
    assert shop["api_called_by"] == {"wiring": ["register_book"]}
    assert book["api_called_by"] == {"shop": ["lookup"]}
    assert stock["publishes"] == [
        {
            "name": "stock.Reserved",
            "version": 2,
            "cls": "Reserved",
            "built_at": ["contexts/stock/services.py:4"],
            "consumed_by": ["listener"],
        }
    ]
    assert shop["publishes"][0]["built_at"] == ["contexts/shop/services/__init__.py:8"]
    assert [(s["event"], s["handler"]) for s in listener["consumes"]] == [
        ("shop.Placed", "note_when_placed"),
        ("stock.Reserved", "note_when_reserved"),
    ]
    assert stock["tables"] == ["stock_level"]  # the abstract model has none
    assert shop["tables"] == ["shop_orders"]
    assert listener["tables"] == ["listener_note", "listener_seen"]
    assert [s["step"] for s in stock["saga"]["steps_owned"]] == ["reserve"]
    assert [s["step"] for s in shop["saga"]["orchestrates"]] == ["reserve", "pay"]


def test_the_made_up_tree_is_ranked_by_its_ties_with_the_reasons(made_up):
    order, weights = made_up["order"], made_up["weights"]
    assert [entry["context"] for entry in order] == ["listener", "book", "stock", "shop"]
    listener, book, stock, shop = order
    assert listener["score"] == 2 * weights["consumed"] + 2 * weights["table"]
    assert listener["reasons"][0].startswith("only listens")
    assert book["score"] == weights["caller"] + weights["function"]
    assert stock["score"] == (
        weights["caller"]
        + weights["function"]
        + weights["published_consumed"]
        + weights["table"]
        + weights["saga_step"]
    )
    assert any("steps it owns in another's saga: 1 (shop.reserve by stock)" in reason for reason in stock["reasons"])
    # the payment gateway is no context: only stock's step counts against shop
    assert shop["score"] == (
        weights["caller"]
        + weights["function"]
        + 2 * weights["callee"]
        + 2 * weights["called_function"]
        + weights["published_consumed"]
        + weights["table"]
        + weights["orchestrated_step"]
    )

"""The staff's dashboard on the admin's index: what needs doing today and how the shop is doing.

Like ``contexts.wiring`` it belongs to no context: it reads each one through its ``api`` (orders) or
its selectors (inventory) and the bus through ``commerce.eventbus.state``, never one context's tables
from another's query. The admin's index imports it on first use (``ADMIN_DASHBOARD``,
``commerce.admin_site``), so a worker that serves only the API never loads it.

Each block is shown to those whose permissions let them open the list behind it (the roles of
``manage.py setup_roles``): the warehouse sees orders to ship and low stock, customer service returns,
payments and sales, a superuser everything, the bus included. Every figure links to the filtered list it
counts. Its cost is a fixed number of queries whatever the shop holds (``tests/admin/test_dashboard.py``): one per
figure of orders, two for stock, one per database for the bus.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from commerce.eventbus import state as bus_state
from contexts.inventory import selectors as inventory_selectors
from contexts.inventory.conf import inventory_settings
from contexts.orders import api as orders_api

CHART_DAYS = 30
LOW_STOCK_SHOWN = 5


# --- The chart -------------------------------------------------------------------------------------
# The dashboard's chart of orders and revenue per day, drawn on the server as an SVG: a picture in the
# page itself, with no script and nothing fetched from a CDN. Bars are the orders of a day; the line is
# that day's revenue on its own scale (the right-hand axis). Each bar's tooltip gives the day's figures.

WIDTH, HEIGHT = 680, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 64, 16, 28


@dataclass(frozen=True, slots=True)
class ChartDay:
    day: date
    orders: int
    revenue: Decimal


def _text(x: float, y: float, text: str, anchor: str = "middle", css: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">{escape(text)}</text>'


def chart_svg(days: Sequence[ChartDay], currency: str) -> SafeString:
    """The chart of ``days`` (consecutive, oldest first) for one currency."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    most_orders = max((d.orders for d in days), default=0) or 1
    top_revenue = max((d.revenue for d in days), default=Decimal(0))
    most_revenue = top_revenue or Decimal(1)  # the scale's divisor; the axis shows the real top, 0 too
    step = plot_w / max(len(days), 1)
    bar = max(step * 0.7, 1.0)
    title_id = "chart-" + re.sub(r"[^A-Za-z0-9]", "_", currency) + "-title"  # an id holds no markup
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'class="shop-chart" aria-labelledby="{title_id}">',
        f'<title id="{title_id}">{escape(f"Orders and revenue ({currency}) per day, last {len(days)} days")}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" class="axis"/>',
        _text(LEFT - 6, TOP + 8, str(max((d.orders for d in days), default=0)), "end"),
        _text(LEFT - 6, TOP + plot_h, "0", "end"),
        _text(LEFT - 6, TOP + plot_h / 2, "orders", "end", "legend-orders"),
        _text(LEFT + plot_w + 6, TOP + 8, f"{top_revenue:,.0f}", "start", "legend-revenue"),
        _text(LEFT + plot_w + 6, TOP + plot_h / 2, currency, "start", "legend-revenue"),
    ]
    points = []
    for index, day in enumerate(days):
        x = LEFT + index * step
        height = plot_h * day.orders / most_orders
        tip = f"{day.day:%a %d %b}: {_orders(day.orders)}, {day.revenue:,.2f} {currency}"
        parts.append(
            f'<rect x="{x + (step - bar) / 2:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" '
            f'height="{height:.1f}" class="bar"><title>{escape(tip)}</title></rect>'
        )
        points.append(f"{x + step / 2:.1f},{TOP + plot_h - float(plot_h * day.revenue / most_revenue):.1f}")
        if (index % 7 == 0 and len(days) - 1 - index >= 4) or index == len(days) - 1:
            parts.append(_text(x + step / 2, HEIGHT - 10, f"{day.day:%d %b}"))
    parts.append(f'<polyline points="{" ".join(points)}" class="revenue"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it is escaped above; numbers are formatted


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    label: str
    value: str
    url: str
    detail: str = ""
    attention: bool = False  # something is waiting: shown in the warning colour


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    title: str
    figures: tuple[Figure, ...]
    rows: tuple[tuple[str, str, str], ...] = ()  # (text, figure, link) under the figures
    charts: tuple[tuple[str, SafeString], ...] = ()  # (currency, svg)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    blocks: tuple[Block, ...] = field(default_factory=tuple)


def _orders(count: int) -> str:
    return f"{count} order{'' if count == 1 else 's'}"


def _list(name: str, query: str = "") -> str:
    return reverse(f"admin:{name}_changelist") + (f"?{query}" if query else "")


def _waiting(backlog: orders_api.Backlog, now: datetime) -> str:
    return f"oldest waiting {timesince(backlog.oldest, now)}" if backlog.oldest else "nothing waiting"


def _to_do(user, now: datetime) -> Block | None:
    figures = []
    if user.has_perm("orders.view_order"):
        to_ship = orders_api.orders_to_ship()
        figures.append(
            Figure(
                label="Orders to ship",
                value=str(to_ship.count),
                detail=_waiting(to_ship, now),
                url=_list("orders_order", "status__in=confirmed,partially_shipped"),
                attention=bool(to_ship.count),
            )
        )
    if user.has_perm("orders.view_return"):
        returns = orders_api.returns_waiting()
        figures.append(
            Figure(
                label="Returns waiting",
                value=str(returns.count),
                detail=_waiting(returns, now),
                url=_list("orders_return", "status__in=requested,receiving"),
                attention=bool(returns.count),
            )
        )
    if user.has_perm("orders.view_payment"):
        stuck = orders_api.payments_needing_attention(now=now)
        figures.append(
            Figure(
                label="Payments needing attention",
                value=str(stuck.count),
                detail=_waiting(stuck, now) if stuck.count else "none pending or unrefunded",
                url=_list("orders_order", "attention=payment"),
                attention=bool(stuck.count),
            )
        )
    return Block(title="To do", figures=tuple(figures)) if figures else None


def _stock(user) -> Block | None:
    if not user.has_perm("inventory.view_stocklevel"):
        return None
    threshold = inventory_settings().low_stock_threshold
    count, lowest = inventory_selectors.low_stock(threshold, shown=LOW_STOCK_SHOWN)
    figure = Figure(
        label="Low stock levels (SKU × warehouse)",  # what its list shows: a SKU low in two warehouses is two
        value=str(count),
        detail=f"{threshold} or fewer available",
        url=_list("inventory_stocklevel", "stock=low"),
        attention=bool(count),
    )
    rows = tuple(
        (
            f"{level.sku} in {level.warehouse.code}",
            f"{level.available_quantity} available",
            _list("inventory_stocklevel", f"q={level.sku}"),
        )
        for level in lowest
    )
    return Block(title="Stock", figures=(figure,), rows=rows)


def _dead_letters(states: Sequence[bus_state.OutboxState]) -> tuple[Figure, ...]:
    """The delivery list shows one database at a time (``?database=``): in split mode one figure per
    database holding dead letters, each opening that database's list; one figure otherwise."""
    detail = "retry them from the list once the cause is fixed"
    if len(states) > 1 and any(s.dead_letters for s in states):
        return tuple(
            Figure(
                label=f"Dead-lettered deliveries ({s.database})",
                value=str(s.dead_letters),
                detail=detail,
                url=_list("eventbus_delivery", f"status__exact=dead&database={s.database}"),
                attention=True,
            )
            for s in states
            if s.dead_letters
        )
    dead = sum(s.dead_letters for s in states)
    return (
        Figure(
            label="Dead-lettered deliveries",
            value=str(dead),
            detail=detail if dead else "none",
            url=_list("eventbus_delivery", "status__exact=dead"),
            attention=bool(dead),
        ),
    )


def _bus(user, now: datetime) -> Block | None:
    if not user.has_perm("eventbus.view_delivery"):
        return None
    states = bus_state.outbox_states()
    owed = [s for s in states if s.oldest_owed is not None]
    oldest = min(owed, key=lambda s: s.oldest_owed) if owed else None
    figures = (
        *_dead_letters(states),
        Figure(
            label="Oldest pending event",
            value=timesince(oldest.oldest_owed, now) if oldest else "none",
            detail=f"{sum(s.owed for s in states)} deliveries owed" if oldest else "every event delivered",
            url=_list(
                "eventbus_delivery", f"status__in=pending,failed{'&database=' + oldest.database if oldest else ''}"
            ),
            attention=bool(oldest and now - oldest.oldest_owed > timedelta(minutes=5)),
        ),
    )
    return Block(title="Events", figures=figures)


def _sales(user, now: datetime) -> Block | None:
    if not user.has_perm("orders.view_payment"):  # money: customer service and superusers, not the warehouse
        return None
    today = timezone.localdate(now)
    first = today - timedelta(days=CHART_DAYS - 1)
    sales = orders_api.daily_sales(since=first)
    currencies = sorted({s.currency for s in sales}) or [settings.SHOP_DEFAULT_CURRENCY]
    figures, charts = [], []
    week_start = today - timedelta(days=6)
    for currency in currencies:
        mine = {s.day: s for s in sales if s.currency == currency}
        days = []
        for n in range(CHART_DAYS):
            day = first + timedelta(days=n)
            sold = mine.get(day)
            days.append(ChartDay(day, sold.orders if sold else 0, sold.revenue if sold else Decimal(0)))
        for label, since in (("Today", today), ("Last 7 days", week_start)):
            start = timezone.make_aware(datetime.combine(since, datetime.min.time()))
            query = urlencode(
                {
                    "created_at__gte": start.isoformat(),
                    "currency__exact": currency,
                    "status__in": ",".join(sorted(orders_api.SALES_STATUSES)),
                }
            )
            chosen = [d for d in days if d.day >= since]
            figures.append(
                Figure(
                    label=f"{label} ({currency})",
                    value=f"{sum(d.revenue for d in chosen):,.2f} {currency}",
                    detail=_orders(sum(d.orders for d in chosen)),
                    url=_list("orders_order", query),
                )
            )
        charts.append((currency, chart_svg(days, currency)))
    return Block(title=f"Sales (last {CHART_DAYS} days)", figures=tuple(figures), charts=tuple(charts))


def dashboard_for(request: HttpRequest) -> Dashboard:
    """The blocks ``request.user`` may see, each read once: a fixed number of queries."""
    now = timezone.now()
    user = request.user
    blocks = (_to_do(user, now), _stock(user), _sales(user, now), _bus(user, now))
    return Dashboard(blocks=tuple(block for block in blocks if block is not None))

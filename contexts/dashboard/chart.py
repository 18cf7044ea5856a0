"""The dashboard's chart of orders and revenue per day, drawn on the server as an SVG: a picture in the
page itself, with no script and nothing fetched from a CDN. Bars are the orders of a day; the line is
that day's revenue on its own scale (the right-hand axis). Each bar's tooltip gives the day's figures."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 680, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 64, 16, 28


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    orders: int
    revenue: Decimal


def _text(x: float, y: float, text: str, anchor: str = "middle", css: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">{escape(text)}</text>'


def svg(days: Sequence[Day], currency: str) -> SafeString:
    """The chart of ``days`` (consecutive, oldest first) for one currency."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    most_orders = max((d.orders for d in days), default=0) or 1
    most_revenue = max((d.revenue for d in days), default=Decimal(0)) or Decimal(1)
    step = plot_w / max(len(days), 1)
    bar = max(step * 0.7, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'class="shop-chart" aria-labelledby="chart-{currency}-title">',
        f'<title id="chart-{currency}-title">{escape(f"Orders and revenue ({currency}) per day, last {len(days)} days")}'
        "</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" class="axis"/>',
        _text(LEFT - 6, TOP + 8, str(max((d.orders for d in days), default=0)), "end"),
        _text(LEFT - 6, TOP + plot_h, "0", "end"),
        _text(LEFT - 6, TOP + plot_h / 2, "orders", "end", "legend-orders"),
        _text(LEFT + plot_w + 6, TOP + 8, f"{most_revenue:,.0f}", "start", "legend-revenue"),
        _text(LEFT + plot_w + 6, TOP + plot_h / 2, currency, "start", "legend-revenue"),
    ]
    points = []
    for index, day in enumerate(days):
        x = LEFT + index * step
        height = plot_h * day.orders / most_orders
        tip = f"{day.day:%a %d %b}: {day.orders} order{'s' if day.orders != 1 else ''}, {day.revenue:,.2f} {currency}"
        parts.append(
            f'<rect x="{x + (step - bar) / 2:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" '
            f'height="{height:.1f}" class="bar"><title>{escape(tip)}</title></rect>'
        )
        points.append(f"{x + step / 2:.1f},{TOP + plot_h - float(plot_h * day.revenue / most_revenue):.1f}")
        if index % 7 == 0 or index == len(days) - 1:
            parts.append(_text(x + step / 2, HEIGHT - 10, f"{day.day:%d %b}"))
    parts.append(f'<polyline points="{" ".join(points)}" class="revenue"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it is escaped above; numbers are formatted

"""The panel's chart of the last days, drawn here as inline SVG: no script, no library.

Two small charts share the days: messages (sent, delivered, failed) as lines, and cost as bars.
Time runs in the reading direction: right to left in Persian. The same figures are given as a
sentence (the SVG's description) and as a table, for screen readers and for anyone who wants
the numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import jdatetime
from markupsafe import Markup, escape

from payamak.sending.service import DayTotals
from payamak.web.i18n import fa_digits, money, translate

WIDTH = 560
HEIGHT = 190
SCALE = 64  # room for the scale's numbers, on the side the reading starts from
EDGE = 12
TOP = 12
BOTTOM = 28  # room for the dates
SERIES = (("sent", "c-sent"), ("delivered", "c-ok"), ("failed", "c-bad"))


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _digits(value: object, lang: str) -> str:
    return fa_digits(value) if lang == "fa" else str(value)


def _label(day: dt.date, lang: str) -> str:
    if lang == "en":
        return day.strftime("%m-%d")
    j = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{j.month}/{j.day}")


def _x(index: int, count: int, rtl: bool) -> float:
    plot = WIDTH - SCALE - EDGE
    step = plot / max(count - 1, 1)
    offset = index * step
    return round(WIDTH - SCALE - offset if rtl else SCALE + offset, 1)


def _y(value: int, top: int) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return round(TOP + plot - plot * value / top, 1)


def _frame(
    top: int, days: Sequence[DayTotals], lang: str, rtl: bool, *, money_scale: bool = False
) -> list[str]:
    parts = []
    x1, x2 = (EDGE, WIDTH - SCALE) if rtl else (SCALE, WIDTH - EDGE)
    for fraction in (0, 0.5, 1):
        value = int(top * fraction)
        y = _y(value, top)
        parts.append(f'<line class="grid" x1="{x1}" x2="{x2}" y1="{y}" y2="{y}"/>')
        text = money(value, lang) if money_scale else _digits(value, lang)
        # In a right-to-left page the scale stands on the right, its numbers starting at the plot.
        scale_x, anchor = (WIDTH - SCALE + 6, "start") if rtl else (SCALE - 6, "end")
        parts.append(
            f'<text class="scale" x="{scale_x}" y="{y + 4}" text-anchor="{anchor}">{escape(text)}</text>'
        )
    last = len(days) - 1
    for index, day in enumerate(days):
        if index % 5 == 0 or index == last:
            x = _x(index, len(days), rtl)
            # Today's date sits at the outer edge: it grows inwards so it is not cut off.
            anchor = ("start" if rtl else "end") if index == last else "middle"
            parts.append(
                f'<text class="date" x="{x}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(_label(day.day, lang))}</text>'
            )
    return parts


def daily(days: Sequence[DayTotals], *, lang: str) -> Markup:
    """The figure for the panel: two SVG charts, their legend, a summary and the data table."""
    rtl = lang == "fa"

    def t(key: str) -> str:
        return translate(key, lang)

    totals = {name: sum(getattr(d, name) for d in days) for name in ("sent", "delivered", "failed", "cost")}
    summary = (
        t("chart_summary")
        .replace("{days}", _digits(len(days), lang))
        .replace("{sent}", _digits(totals["sent"], lang))
        .replace("{delivered}", _digits(totals["delivered"], lang))
        .replace("{failed}", _digits(totals["failed"], lang))
        .replace("{cost}", money(totals["cost"], lang))
    )

    top = _nice_max(max([max(d.sent, d.delivered, d.failed) for d in days] + [1]))
    lines = _frame(top, days, lang, rtl)
    for name, css in SERIES:
        points = " ".join(f"{_x(i, len(days), rtl)},{_y(getattr(d, name), top)}" for i, d in enumerate(days))
        lines.append(f'<polyline class="line {css}" points="{points}"/>')
        for i, d in enumerate(days):
            if getattr(d, name):
                lines.append(
                    f'<circle class="{css}" cx="{_x(i, len(days), rtl)}" cy="{_y(getattr(d, name), top)}" r="2.5"/>'
                )

    cost_top = _nice_max(max([d.cost for d in days] + [1]))
    bars = _frame(cost_top, days, lang, rtl, money_scale=True)
    width = max(2.0, (WIDTH - SCALE - EDGE) / max(len(days), 1) * 0.6)
    for i, d in enumerate(days):
        if d.cost:
            y = _y(d.cost, cost_top)
            x = _x(i, len(days), rtl) - width / 2
            bars.append(
                f'<rect class="bar" x="{round(x, 1)}" y="{y}" width="{round(width, 1)}" height="{round(HEIGHT - BOTTOM - y, 1)}"/>'
            )

    legend = "".join(
        f'<li><span class="swatch {css}" aria-hidden="true"></span>{escape(t("chart_" + name))}</li>'
        for name, css in SERIES
    )
    rows = "".join(
        "<tr>"
        f'<th scope="row">{escape(_label(d.day, lang))}</th>'
        f"<td>{escape(_digits(d.sent, lang))}</td><td>{escape(_digits(d.delivered, lang))}</td>"
        f"<td>{escape(_digits(d.failed, lang))}</td><td>{escape(money(d.cost, lang))}</td>"
        "</tr>"
        for d in reversed(days)
    )
    html = f"""
<figure class="chart">
  <figcaption><h2 id="chart-title">{escape(t("chart_title"))}</h2><p id="chart-desc">{escape(summary)}</p></figcaption>
  <div class="charts">
    <div>
      <h3 class="chart-sub">{escape(t("chart_messages"))}</h3>
      <ul class="legend">{legend}</ul>
      <svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" focusable="false">
        <title>{escape(t("chart_messages"))}</title>{"".join(lines)}
      </svg>
    </div>
    <div>
      <h3 class="chart-sub">{escape(t("chart_cost"))}</h3>
      <ul class="legend"><li><span class="swatch c-cost" aria-hidden="true"></span>{escape(t("chart_cost_rials"))}</li></ul>
      <svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(t("chart_cost"))}" focusable="false">
        <title>{escape(t("chart_cost"))}</title>{"".join(bars)}
      </svg>
    </div>
  </div>
  <details class="chart-data">
    <summary>{escape(t("chart_table"))}</summary>
    <table>
      <thead><tr><th scope="col">{escape(t("date"))}</th><th scope="col">{escape(t("chart_sent"))}</th>
      <th scope="col">{escape(t("chart_delivered"))}</th><th scope="col">{escape(t("chart_failed"))}</th>
      <th scope="col">{escape(t("chart_cost_rials"))}</th></tr></thead>
      <tbody>{rows}</tbody>
    </table>
  </details>
</figure>"""
    return Markup(html)  # noqa: S704 - every value above is escaped or a number we formatted

"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, CSP-safe.

Only presentation attributes (fill=, stroke=, ...) are used, never style="". Series differ
by colour *and* by shape (solid line with dots vs dashed line) and every chart carries a
<title>/<desc> summary; the colours meet WCAG AA against white (text 4.5:1, marks 3:1).
"""

from __future__ import annotations

import functools

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .selectors import BurnUp

INK = "#1a1f2b"  # text, 16:1 on white
MUTED = "#4b5565"  # axis labels, 7.5:1
GRID = "#d0d5dd"  # decorative only
PLANNED = "#475569"  # slate-600, 7.6:1, drawn dashed
APPROVED = "#166534"  # green-800, 7.1:1, drawn solid with dots
BAR = "#1d4ed8"  # blue-700, 6.7:1
BAR_ALT = "#854d0e"  # amber-800, 6.9:1

# Each chart is drawn twice: wide for desktops and tablets, and narrow for phones (CSS
# shows one), so a phone sees every bar and "now" at a readable size without scrolling.
WIDTH, PHONE_WIDTH, HEIGHT = 640, 360, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 16, 40


SVG_CLOSE = SafeString("</svg>")


def _join(parts) -> SafeString:
    """Concatenate markup; anything not already marked safe is escaped."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _html(template: str, *args) -> SafeString:
    """format_html with floats written to one decimal (format_html escapes before formatting)."""
    values = [f"{a:.1f}" if isinstance(a, float) else a for a in args]
    return format_html(template.replace("{:.1f}", "{}"), *values)


def _html_rows(template: str, rows) -> SafeString:
    return _join(_html(template, *row) for row in rows)


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    step = 5 if value <= 50 else 10 if value <= 100 else 50
    return ((value + step - 1) // step) * step


def _ticks(maximum: int, count: int = 4) -> list[int]:
    if maximum <= count:
        return list(range(0, maximum + 1))
    step = max(1, round(maximum / count))
    return list(range(0, maximum + 1, step))


def _responsive(draw, chart_id: str) -> SafeString:
    """The wide and the phone drawing of one chart; `draw(width, chart_id)` makes one."""
    wide = draw(WIDTH, chart_id)
    if not wide:
        return SafeString("")
    return format_html(
        '<div class="chart-wide">{}</div><div class="chart-phone">{}</div>',
        wide,
        draw(PHONE_WIDTH, f"{chart_id}-phone"),
    )


def _svg_open(chart_id: str, title: str, desc: str, width: int) -> SafeString:
    return _html(
        '<svg class="chart-svg" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-labelledby="{}-title {}-desc" preserveAspectRatio="xMidYMid meet">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
        width,
        HEIGHT,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        desc,
    )


def _y_axis(maximum: int, plot_h: float, width: int) -> SafeString:
    parts = []
    for tick in _ticks(maximum):
        y = TOP + plot_h - plot_h * tick / maximum
        parts.append(
            _html(
                '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{:.1f}" fill="{}" font-size="13" text-anchor="end">{}</text>',
                LEFT,
                width - RIGHT,
                y,
                y,
                GRID,
                LEFT - 6,
                y + 4,
                MUTED,
                tick,
            )
        )
    return _join(parts)


CHAR_WIDTH = 7.5  # a generous average advance of a 13-unit label character


def _x_labels(labels: list[str], xs: list[float], width: int) -> SafeString:
    """Labels under the x axis that never collide: at most one per ~52 units, and when
    the labels shown are still wider than the gap between them, every other one drops to
    a second row."""
    most = max(1, (width - LEFT - RIGHT) // 52)
    every = max(1, -(-len(labels) // most))
    shown = [
        (x, label) for i, (x, label) in enumerate(zip(xs, labels, strict=True)) if i % every == 0
    ]
    gap = shown[1][0] - shown[0][0] if len(shown) > 1 else width
    two_rows = max(len(label) for _, label in shown) * CHAR_WIDTH > gap - 4
    return _html_rows(
        '<text x="{:.1f}" y="{}" fill="{}" font-size="13" text-anchor="middle">{}</text>',
        (
            (x, HEIGHT - BOTTOM + (32 if two_rows and i % 2 else 18), MUTED, label)
            for i, (x, label) in enumerate(shown)
        ),
    )


def burn_up_svg(burn_up: BurnUp, *, chart_id: str) -> SafeString:
    """Labs approved by the end of each week (solid, dots) against the schedule (dashed)."""
    return _burn_up_svg(
        burn_up.weeks,
        burn_up.current_week,
        tuple(burn_up.planned),
        tuple(burn_up.approved),
        burn_up.total,
        chart_id,
    )


# A pure function of a few small numbers, which learners of a cohort at the same pace share:
# drawn once per process (each drawing formats and escapes a few hundred values).
@functools.lru_cache(maxsize=4096)
def _burn_up_svg(weeks, current_week, planned, approved, total, chart_id) -> SafeString:
    burn_up = BurnUp(
        weeks=weeks,
        current_week=current_week,
        planned=list(planned),
        approved=list(approved),
        total=total,
    )
    return _responsive(lambda width, svg_id: _burn_up(burn_up, svg_id, width), chart_id)


def _burn_up(burn_up: BurnUp, chart_id: str, width: int) -> SafeString:
    if not burn_up.weeks:
        return SafeString("")
    maximum = _nice_max(burn_up.total)
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / burn_up.weeks

    def x(week: int) -> float:  # week 0 is the start, week w the end of week w
        return LEFT + step * week

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / maximum

    planned = " ".join(f"{x(w):.1f},{y(v):.1f}" for w, v in enumerate([0, *burn_up.planned]))
    approved_points = [(x(w), y(v)) for w, v in enumerate([0, *burn_up.approved])]
    approved = " ".join(f"{px:.1f},{py:.1f}" for px, py in approved_points)
    now_x = x(burn_up.current_week)
    done = burn_up.approved[-1] if burn_up.approved else 0
    desc = (
        f"By the end of week {burn_up.current_week}: {done} of {burn_up.total} labs approved; "
        f"the schedule expects {burn_up.expected_now} due by then."
    )
    parts = [
        _svg_open(chart_id, "Labs approved over the weeks against the schedule", desc, width),
        _y_axis(maximum, plot_h, width),
        _html(
            '<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="{}" stroke-width="1" '
            'stroke-dasharray="2 3"/><text x="{:.1f}" y="{}" fill="{}" font-size="13" '
            'text-anchor="middle">now</text>',
            now_x,
            now_x,
            TOP,
            TOP + plot_h,
            MUTED,
            now_x,
            TOP + plot_h + 32,
            MUTED,
        ),
        _html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" '
            'stroke-dasharray="6 4"/>',
            planned,
            PLANNED,
        ),
        _html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="3"/>', approved, APPROVED
        ),
        _html_rows(
            '<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}"/>',
            ((px, py, APPROVED) for px, py in approved_points[1:]),
        ),
        _x_labels(
            [f"W{w}" for w in range(1, burn_up.weeks + 1)],
            [x(w) for w in range(1, burn_up.weeks + 1)],
            width,
        ),
        SVG_CLOSE,
    ]
    return _join(parts)


def bar_chart_svg(
    *,
    chart_id: str,
    title: str,
    labels: list[str],
    values: list[int],
    unit: str,
    colour: str = BAR,
) -> SafeString:
    """Vertical bars with their value written above each (so no colour reading is needed)."""
    return _responsive(
        lambda width, svg_id: _bars(svg_id, title, labels, values, unit, colour, width), chart_id
    )


def _bars(chart_id, title, labels, values, unit, colour, width) -> SafeString:
    if not values:
        return SafeString("")
    maximum = _nice_max(max(values))
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(values)
    bar_w = max(2.0, slot * 0.7)
    desc = "; ".join(
        f"{label}: {value} {unit}" for label, value in zip(labels, values, strict=True)
    )
    xs = [LEFT + slot * i + slot / 2 for i in range(len(values))]
    bars = []
    show_values = slot >= 14  # room for a two-digit value above each bar
    for cx, label, value in zip(xs, labels, values, strict=True):
        h = plot_h * value / maximum
        bars.append(
            _html(
                '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                "<title>{}: {} {}</title></rect>",
                cx - bar_w / 2,
                TOP + plot_h - h,
                bar_w,
                h,
                colour,
                label,
                value,
                unit,
            )
        )
        if show_values and value:
            bars.append(
                _html(
                    '<text x="{:.1f}" y="{:.1f}" fill="{}" font-size="11" text-anchor="middle">{}</text>',
                    cx,
                    TOP + plot_h - h - 4,
                    INK,
                    value,
                )
            )
    return _join(
        [
            _svg_open(chart_id, title, desc, width),
            _y_axis(maximum, plot_h, width),
            *bars,
            _x_labels(labels, xs, width),
            SVG_CLOSE,
        ]
    )

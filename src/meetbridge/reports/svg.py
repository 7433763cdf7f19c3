"""The Zoom Demand chart as SVG, drawn on the server: a bar per bucket (its peak concurrency),
the pool size as a dashed capacity line, axes with labels, a title and a description that say
the answer, and a <title> on every bar. No script and no style sheet: presentation attributes
only, so it reads the same inline in a page under a strict CSP, opened on its own, or printed.
Bars above the pool are hatched as well as coloured, so the difference does not rest on
colour alone."""

from __future__ import annotations

import math
from html import escape

from meetbridge.reports.zoom_demand import ZoomDemand, fmt

WIDTH, HEIGHT = 960, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 64, 72
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
BAR, OVER, LINE, INK, MUTED, GRID = "#2f6fb5", "#c2410c", "#b91c1c", "#1f2937", "#4b5563", "#e5e7eb"


def _e(text: str) -> str:
    return escape(text, quote=True)


def _nice_step(top: int) -> int:
    """A tick step of 1, 2 or 5 x 10^k giving at most about six ticks up to `top`."""
    raw = max(1.0, top / 6)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return int(m * mag)
    return int(10 * mag)


def title_of(r: ZoomDemand) -> str:
    p = r.period
    span = fmt(p.first, "%-d %b %Y")
    if p.last != p.first:
        span += " \u2013 " + fmt(p.last, "%-d %b %Y")
    return f"Zoom Demand, {span} ({p.timezone}), by {p.unit}"


def chart(r: ZoomDemand, id_prefix: str = "zd") -> str:
    d = r.demand
    n = len(d.buckets)
    top = max(d.peak, d.capacity, 1)
    step = _nice_step(top)
    ymax = step * math.ceil(top / step)
    if ymax == top and d.capacity >= d.peak:
        ymax += step  # room above the capacity line for its label

    def y(v: float) -> float:
        return TOP + PLOT_H - PLOT_H * v / ymax

    bw = PLOT_W / n
    hourly = r.period.unit == "hour"
    title, desc = title_of(r), r.verdict()
    if d.over:
        desc += f" Bars above the dashed pool line ({d.capacity}) are hatched."
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-labelledby="{id_prefix}-title" '
        f'aria-describedby="{id_prefix}-desc" class="chart" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{id_prefix}-title">{_e(title)}</title>',
        f'<desc id="{id_prefix}-desc">{_e(desc)}</desc>',
        "<defs>"
        f'<pattern id="{id_prefix}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{OVER}"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/>'
        "</pattern></defs>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="26" {FONT} font-size="17" font-weight="600" fill="{INK}">'
        f"{_e(title)}</text>",
    ]
    # The y axis: concurrent meetings, whole numbers.
    out.append('<g aria-hidden="true">')
    for v in range(0, ymax + 1, step):
        yy = y(v)
        out.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{LEFT + PLOT_W}" y2="{yy:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{yy + 4:.1f}" text-anchor="end" {FONT} font-size="12" '
            f'fill="{MUTED}">{v}</text>'
        )
    out.append(
        f'<text transform="translate(18 {TOP + PLOT_H / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" {FONT} font-size="13" fill="{INK}">Concurrent Zoom meetings</text>'
    )
    out.append("</g>")
    # The bars, each with its own text.
    out.append('<g class="bars">')
    for k, b in enumerate(d.buckets):
        if b.peak == 0:
            continue
        x = LEFT + k * bw
        h = PLOT_H * b.peak / ymax
        over = b.peak > d.capacity
        fill = f"url(#{id_prefix}-hatch)" if over else BAR
        when = fmt(r.local(b.start), "%a %-d %b %Y" + (" %H:%M" if hourly else ""))
        note = f" (above the pool of {d.capacity})" if over else ""
        gap = 1 if bw > 4 else 0
        out.append(
            f'<rect x="{x + gap / 2:.2f}" y="{y(b.peak):.2f}" width="{max(bw - gap, 0.5):.2f}" '
            f'height="{h:.2f}" fill="{fill}"><title>{_e(when)}: peak {b.peak} '
            f"concurrent{_e(note)}</title></rect>"
        )
    out.append("</g>")
    # The capacity line and its label.
    cy = y(d.capacity)
    out.append(
        f'<line class="capacity" x1="{LEFT}" y1="{cy:.1f}" x2="{LEFT + PLOT_W}" y2="{cy:.1f}" '
        f'stroke="{LINE}" '
        f'stroke-width="2" stroke-dasharray="8 5"/>'
        f'<text x="{LEFT + PLOT_W - 4}" y="{cy - 6:.1f}" text-anchor="end" {FONT} '
        f'font-size="13" font-weight="600" fill="{LINE}">Pool: {d.capacity} '
        f"host{'' if d.capacity == 1 else 's'}</text>"
    )
    # The x axis: time in the organisation's zone, labelled at most about 12 times.
    out.append('<g aria-hidden="true">')
    base = TOP + PLOT_H
    out.append(
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + PLOT_W}" y2="{base}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    every = max(1, math.ceil(n / 12))
    if r.period.unit == "hour":
        every = next((h for h in (1, 2, 3, 4, 6, 12, 24, 48, 72, 168) if n / h <= 12), 168)
    for k in range(0, n, every):
        b = d.buckets[k]
        x = LEFT + k * bw
        local = r.local(b.start)
        if r.period.unit == "hour":
            line1 = fmt(local, "%H:%M")
            line2 = fmt(local, "%a %-d %b") if k == 0 or local.hour < every else ""
        else:
            line1 = fmt(local, "%-d %b")
            line2 = fmt(local, "%Y") if k == 0 or (local.month == 1 and local.day <= every) else ""
        out.append(
            f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 5}" stroke="{INK}"/>'
            f'<text x="{x:.1f}" y="{base + 19}" {FONT} font-size="12" fill="{MUTED}">'
            f"{_e(line1)}</text>"
        )
        if line2:
            out.append(
                f'<text x="{x:.1f}" y="{base + 34}" {FONT} font-size="12" fill="{MUTED}">'
                f"{_e(line2)}</text>"
            )
    unit = "hour" if r.period.unit == "hour" else "day"
    out.append(
        f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" {FONT} '
        f'font-size="13" fill="{INK}">Time ({_e(r.period.timezone)}), highest per {unit}</text>'
    )
    out.append("</g>")
    # A legend, top right.
    lx = WIDTH - RIGHT - 330
    out.append(
        f'<g aria-hidden="true"><rect x="{lx}" y="36" width="12" height="12" fill="{BAR}"/>'
        f'<text x="{lx + 18}" y="46" {FONT} font-size="12" fill="{INK}">Within the pool</text>'
        f'<rect x="{lx + 130}" y="36" width="12" height="12" fill="url(#{id_prefix}-hatch)"/>'
        f'<text x="{lx + 148}" y="46" {FONT} font-size="12" fill="{INK}">Above the pool</text>'
        f'<line x1="{lx + 255}" y1="42" x2="{lx + 280}" y2="42" stroke="{LINE}" '
        f'stroke-width="2" stroke-dasharray="8 5"/>'
        f'<text x="{lx + 286}" y="46" {FONT} font-size="12" fill="{INK}">Pool</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)


def document(r: ZoomDemand) -> str:
    """The chart as a file of its own."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + chart(r) + "\n"

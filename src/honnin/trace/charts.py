"""A small server-side charting library: inline SVG 1.1 for the console, no JavaScript.

Pure (no I/O). Every label is XML-escaped; the output is ``markupsafe.Markup`` so Jinja2
embeds it as-is. Colours come from CSS classes (``ok``, ``denied``, ``error``, ``flow``),
so the page's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape


@dataclass(frozen=True, slots=True)
class StackedBar:
    label: str
    ok: int
    denied: int
    error: int


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open_svg(width: int, height: int, title: str) -> str:
    label = f' aria-label="{escape(title)}"' if title else ""
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img"{label} '
        'xmlns="http://www.w3.org/2000/svg">'
    )
    return head + (f"<title>{escape(title)}</title>" if title else "")


def _close_svg(parts: list[str]) -> Markup:
    parts.append("</svg>")
    # Safe: every caller-supplied string above went through escape(); the rest is numbers.
    return Markup("".join(parts))  # noqa: S704 - see above


def _nice_max(value: int) -> int:
    """The smallest 1/2/5 x 10^k at or above ``value`` (readable axis ticks)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def timeline(
    bars: Sequence[StackedBar], *, width: int = 1300, height: int = 240, title: str = ""
) -> Markup:
    """Stacked columns (ok / denied / error) per time bucket with a y axis."""
    left, right, top, bottom = 44, 8, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((b.ok + b.denied + b.error for b in bars), default=0))
    parts = [_open_svg(width, height, title)]
    for i in range(6):
        value = top_value * i / 5
        y = top + plot_h - plot_h * i / 5
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>'
            f'<text class="axis" x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end">'
            f"{_fmt(value)}</text>"
        )
    if bars:
        slot = plot_w / len(bars)
        bar_w = max(1.0, slot * 0.75)
        label_every = max(1, len(bars) // 8)
        for i, bar in enumerate(bars):
            x = left + i * slot + (slot - bar_w) / 2
            y = top + plot_h
            for cls, value in (("ok", bar.ok), ("denied", bar.denied), ("error", bar.error)):
                if value <= 0:
                    continue
                h = plot_h * value / top_value
                y -= h
                parts.append(
                    f'<rect class="{cls}" x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(bar_w)}" '
                    f'height="{_fmt(h)}"><title>{escape(bar.label)}: {value} {cls}</title></rect>'
                )
            if i % label_every == 0:
                parts.append(
                    f'<text class="axis" x="{_fmt(x + bar_w / 2)}" y="{height - 8}" '
                    f'text-anchor="middle">{escape(bar.label)}</text>'
                )
    return _close_svg(parts)


def hbars(
    rows: Sequence[tuple[str, int, int, int]], *, width: int = 620, row_h: int = 24
) -> Markup:
    """Horizontal stacked bars: (label, ok, denied, error) per row, longest first."""
    label_w, value_w = 150, 60
    height = max(row_h, row_h * len(rows)) + 4
    plot_w = width - label_w - value_w
    top_value = max((ok + d + e for _, ok, d, e in rows), default=0) or 1
    parts = [_open_svg(width, height, "")]
    for i, (label, ok, denied, error) in enumerate(rows):
        y = 2 + i * row_h
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(
            f'<text class="label" x="{label_w - 6}" y="{y + row_h * 0.68:.1f}" '
            f'text-anchor="end">{escape(short)}<title>{escape(label)}</title></text>'
        )
        x = float(label_w)
        for cls, value in (("ok", ok), ("denied", denied), ("error", error)):
            if value <= 0:
                continue
            w = plot_w * value / top_value
            parts.append(
                f'<rect class="{cls}" x="{_fmt(x)}" y="{y + 3}" width="{_fmt(max(w, 1.0))}" '
                f'height="{row_h - 6}"><title>{escape(label)}: {value} {cls}</title></rect>'
            )
            x += w
        parts.append(
            f'<text class="value" x="{_fmt(x + 4)}" y="{y + row_h * 0.68:.1f}">'
            f"{ok + denied + error}</text>"
        )
    return _close_svg(parts)


@dataclass(frozen=True, slots=True)
class _Node:
    key: str
    label: str
    total: int
    y: float
    h: float


def _layout(
    totals: dict[str, int],
    labels: dict[str, str],
    *,
    top: float,
    plot_h: float,
    gap: float,
    scale: float,
) -> dict[str, _Node]:
    nodes: dict[str, _Node] = {}
    used = sum(totals.values()) * scale + gap * (len(totals) - 1)
    y = top + max(0.0, (plot_h - used) / 2)
    for key, total in sorted(totals.items(), key=lambda item: -item[1]):
        h = max(total * scale, 2.0)
        nodes[key] = _Node(key=key, label=labels.get(key, key), total=total, y=y, h=h)
        y += h + gap
    return nodes


def _node(node: _Node, *, x: float, width: float, label_x: float, anchor: str) -> str:
    return (
        f'<rect class="node" x="{_fmt(x)}" y="{_fmt(node.y)}" width="{width}" '
        f'height="{_fmt(node.h)}"/><text class="label" x="{_fmt(label_x)}" '
        f'y="{_fmt(node.y + node.h / 2 + 4)}" text-anchor="{anchor}">'
        f"{escape(node.label)} ({node.total})</text>"
    )


def sankey(
    flows: Sequence[tuple[str, str, int]],
    *,
    left_labels: dict[str, str] | None = None,
    right_labels: dict[str, str] | None = None,
    width: int = 1300,
    height: int = 320,
    title: str = "",
) -> Markup:
    """Two-column Sankey diagram: sources (banks) left, targets (enterprises) right.

    Band widths are proportional to volume; bands leave each node stacked in order of
    their target, so they do not cross within a node.
    """
    parts = [_open_svg(width, height, title)]
    flows = [f for f in flows if f[2] > 0]
    if not flows:
        parts.append(
            f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            "no data movements in this window</text>"
        )
        return _close_svg(parts)
    node_w, label_w, top, gap = 12.0, 220.0, 8.0, 12.0
    plot_h = height - 2 * top
    sources: dict[str, int] = {}
    targets: dict[str, int] = {}
    for src, dst, n in flows:
        sources[src] = sources.get(src, 0) + n
        targets[dst] = targets.get(dst, 0) + n
    total = sum(sources.values())
    scale = (plot_h - gap * (max(len(sources), len(targets)) - 1)) / total
    left = _layout(sources, left_labels or {}, top=top, plot_h=plot_h, gap=gap, scale=scale)
    right = _layout(targets, right_labels or {}, top=top, plot_h=plot_h, gap=gap, scale=scale)
    x0, x1 = label_w, width - label_w
    out_y = {k: n.y for k, n in left.items()}
    in_y = {k: n.y for k, n in right.items()}
    ordered = sorted(flows, key=lambda f: (left[f[0]].y, right[f[1]].y))
    for src, dst, n in ordered:
        h = n * scale
        sy, ty = out_y[src], in_y[dst]
        out_y[src] += h
        in_y[dst] += h
        a, b = x0 + node_w, x1
        mid = (a + b) / 2
        a_, b_, m_ = _fmt(a), _fmt(b), _fmt(mid)
        path = (
            f"M{a_},{_fmt(sy)} C{m_},{_fmt(sy)} {m_},{_fmt(ty)} {b_},{_fmt(ty)} "
            f"L{b_},{_fmt(ty + h)} C{m_},{_fmt(ty + h)} {m_},{_fmt(sy + h)} "
            f"{a_},{_fmt(sy + h)} Z"
        )
        label = f"{left[src].label} → {right[dst].label}: {n}"
        parts.append(f'<path class="flow" d="{path}"><title>{escape(label)}</title></path>')
    parts.extend(_node(n, x=x0, width=node_w, label_x=x0 - 6, anchor="end") for n in left.values())
    parts.extend(
        _node(n, x=x1, width=node_w, label_x=x1 + node_w + 6, anchor="start")
        for n in right.values()
    )
    return _close_svg(parts)


def bucket_label(start: datetime, bucket: str) -> str:
    return start.strftime("%H:00") if bucket == "hour" else start.strftime("%m-%d")

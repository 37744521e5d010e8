"""Small server-rendered SVG charts (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD = 560, 140, 24


def _number(value: float) -> str:
    return f"{value:.1f}"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    unit: str = "",
    ceiling: float | None = None,
) -> SafeString:
    """Bars scaled to the largest value (or a fixed ceiling, e.g. 100 for a percentage); each
    bar has a tooltip with its day and value."""
    largest = max((v for v in values if v is not None), default=0)
    scale = (HEIGHT - 2 * PAD) / (ceiling or largest or 1)
    slot = (WIDTH - PAD) / max(1, len(values))
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="fb-bar"><title>{}: {}{}</title></rect>',
        (
            (
                _number(PAD + i * slot + slot * 0.15),
                _number(HEIGHT - PAD - (v or 0) * scale),
                _number(slot * 0.7),
                _number((v or 0) * scale),
                label,
                "no data" if v is None else f"{v:g}",
                "" if v is None else unit,
            )
            for i, (label, v) in enumerate(zip(labels, values, strict=True))
        ),
    )
    every = max(1, len(labels) // 7)
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" class="fb-tick">{}</text>',
        (
            (_number(PAD + i * slot), HEIGHT - 6, label[5:])  # MM-DD
            for i, label in enumerate(labels)
            if i % every == 0
        ),
    )
    return format_html(
        '<svg class="fb-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" '
        'height="{}"><text x="{}" y="14" class="fb-title">{} (max {}{})</text>{}{}</svg>',
        title,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        PAD,
        title,
        f"{largest:g}",
        unit,
        bars,
        ticks,
    )

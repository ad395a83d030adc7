"""Small charts as inline SVG strings: no plotting library, no script, no external file.

Every text that comes from data (class names, topic words, hashtags) is escaped, so a post's
words cannot inject markup into the report. Charts have a <title> for screen readers and hover.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
INK, GRID, MUTED = "#222", "#ddd", "#888"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg class="chart" role="img" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" {FONT}><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(text)}</text>'


def _short(text: str, width: int = 22) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def bars(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    low: float | None = None,
    high: float | None = None,
    digits: int = 3,
    width: int = 420,
) -> str:
    """Horizontal bars, one per (label, value); negative values grow left of the zero line."""
    values = [v for _, v in items if v is not None]
    lo = min([0.0, *values]) if low is None else low
    hi = max([0.0, *values]) if high is None else high
    span = (hi - lo) or 1.0
    label_w, bar_h, left = 150, 16, 8
    plot_w = width - label_w - 60
    zero = label_w + (0 - lo) / span * plot_w
    body = [f'<line x1="{zero:.1f}" y1="4" x2="{zero:.1f}" y2="{8 + bar_h * len(items) * 1.3:.1f}" stroke="{MUTED}"/>']
    for i, (label, value) in enumerate(items):
        y = 8 + i * bar_h * 1.3
        body.append(_text(label_w - left, y + bar_h * 0.75, _short(label), anchor="end"))
        if value is None:
            body.append(_text(zero + 4, y + bar_h * 0.75, "n/a", fill=MUTED))
            continue
        x = label_w + (min(value, 0) - lo) / span * plot_w
        w = abs(value) / span * plot_w
        color = PALETTE[3] if value < 0 else PALETTE[0]
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{bar_h}" fill="{color}">'
            f"<title>{escape(label)}: {value:.{digits}f}</title></rect>"
        )
        body.append(_text(max(x + w, zero) + 4, y + bar_h * 0.75, f"{value:.{digits}f}"))
    return _svg(width, 16 + bar_h * len(items) * 1.3, body, title)


def heatmap(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], shares: Sequence[Sequence[float | None]], *, title: str
) -> str:
    """A confusion matrix: rows true, columns predicted; colour = share of the row, text = count."""
    n = len(labels)
    cell = max(22, min(44, 360 // max(n, 1)))
    left, top = 120, 90
    body = [
        _text(left + n * cell / 2, 12, "predicted", anchor="middle", fill=MUTED),
        _text(
            12,
            top + n * cell / 2,
            "true",
            anchor="middle",
            fill=MUTED,
            extra=f' transform="rotate(-90 12 {top + n * cell / 2:.1f})"',
        ),
    ]
    for j, name in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(_text(x, top - 6, _short(name, 14), extra=f' transform="rotate(-45 {x:.1f} {top - 6})"'))
    for i, name in enumerate(labels):
        body.append(_text(left - 6, top + i * cell + cell * 0.62, _short(name, 18), anchor="end"))
        for j in range(n):
            share = float(shares[i][j] or 0.0)
            fill = f"rgba(78,121,167,{0.08 + 0.92 * share:.3f})"
            count = matrix[i][j]
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell}" height="{cell}" '
                f'fill="{fill}" stroke="#fff"><title>true {escape(name)}, predicted {escape(labels[j])}: '
                f"{count} ({share:.0%} of the row)</title></rect>"
            )
            body.append(
                _text(
                    left + j * cell + cell / 2,
                    top + i * cell + cell * 0.62,
                    str(count),
                    anchor="middle",
                    fill="#fff" if share > 0.55 else INK,
                )
            )
    return _svg(left + n * cell + 10, top + n * cell + 10, body, title)


def reliability_diagram(bins: Sequence[dict[str, float | int | None]], *, title: str, size: int = 260) -> str:
    """Accuracy per confidence bin against the diagonal of perfect calibration, post counts below."""
    pad, hist = 34, 40
    plot = size - pad - 10
    body = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = pad + tick * plot, 10 + (1 - tick) * plot
        body.append(f'<line x1="{pad}" y1="{y:.1f}" x2="{pad + plot}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(pad - 4, y + 4, f"{tick:g}", anchor="end", fill=MUTED))
        body.append(_text(x, 10 + plot + 14, f"{tick:g}", anchor="middle", fill=MUTED))
    body.append(
        f'<line x1="{pad}" y1="{10 + plot}" x2="{pad + plot}" y2="10" stroke="{MUTED}" stroke-dasharray="4 3"/>'
    )
    most = max([int(b["n"] or 0) for b in bins] + [1])
    for b in bins:
        lower, upper = float(b["lower"] or 0), float(b["upper"] or 0)
        x, w = pad + lower * plot, (upper - lower) * plot
        if b["accuracy"] is not None:
            acc, conf = float(b["accuracy"]), float(b["confidence"] or 0)
            body.append(
                f'<rect x="{x + 1:.1f}" y="{10 + (1 - acc) * plot:.1f}" width="{w - 2:.1f}" '
                f'height="{acc * plot:.1f}" fill="{PALETTE[0]}" fill-opacity="0.8"><title>confidence '
                f"{lower:.1f}-{upper:.1f}: {b['n']} posts, accuracy {acc:.3f}, mean confidence {conf:.3f}"
                f"</title></rect>"
            )
            body.append(
                f'<circle cx="{pad + conf * plot:.1f}" cy="{10 + (1 - conf) * plot:.1f}" r="2.5" fill="{PALETTE[1]}"/>'
            )
        h = int(b["n"] or 0) / most * (hist - 8)
        body.append(
            f'<rect x="{x + 1:.1f}" y="{size + hist - 4 - h:.1f}" width="{w - 2:.1f}" height="{h:.1f}" '
            f'fill="{MUTED}"><title>{b["n"]} posts</title></rect>'
        )
    body.append(_text(pad + plot / 2, size + 2, "confidence", anchor="middle", fill=MUTED))
    body.append(_text(pad + 2, 22, "accuracy", fill=MUTED))
    return _svg(size, size + hist, body, title)


def timeline(
    labels: Sequence[str],
    lines: Sequence[dict[str, object]],
    *,
    title: str,
    width: int = 640,
    height: int = 180,
    markers: Sequence[tuple[int, int]] = (),
) -> str:
    """Lines over bins. ``lines``: {"name", "values" (None = gap), optional "dashed", "color"};
    ``markers``: (line index, bin index) drawn as red dots (bursts)."""
    pad_l, pad_b, pad_t = 40, 28, 10
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    n = max(len(labels), 1)
    values = [float(v) for line in lines for v in line["values"] if v is not None]  # type: ignore[attr-defined]
    top = max([*values, 1.0])

    def x_of(i: float) -> float:
        return pad_l + (i + 0.5) / n * plot_w

    def y_of(v: float) -> float:
        return pad_t + (1 - v / top) * plot_h

    body = []
    for tick in (0.0, 0.5, 1.0):
        y = y_of(top * tick)
        body.append(f'<line x1="{pad_l}" y1="{y:.1f}" x2="{pad_l + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(pad_l - 4, y + 4, f"{top * tick:.3g}", anchor="end", fill=MUTED))
    step = max(1, n // 6)
    for i in range(0, len(labels), step):
        body.append(_text(x_of(i), height - 8, labels[i], anchor="middle", fill=MUTED))
    for k, line in enumerate(lines):
        color = str(line.get("color") or PALETTE[k % len(PALETTE)])
        dash = ' stroke-dasharray="4 3"' if line.get("dashed") else ""
        for segment in _segments(line["values"]):  # type: ignore[arg-type]
            points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in segment)
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.6"{dash}>'
                f"<title>{escape(str(line['name']))}</title></polyline>"
            )
    for k, i in markers:
        value = lines[k]["values"][i]  # type: ignore[index]
        if value is not None:
            body.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(float(value)):.1f}" r="4" fill="{PALETTE[3]}">'
                f"<title>burst: {escape(str(lines[k]['name']))} at {escape(labels[i])}, {value}</title></circle>"
            )
    return _svg(width, height, body, title)


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive known values (a gap breaks the line)."""
    out: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if out[-1]:
                out.append([])
        else:
            out[-1].append((i, float(v)))
    return [s for s in out if s]


def legend(names: Sequence[str], *, dashed: Sequence[bool] = ()) -> str:
    """An HTML legend (colours in PALETTE order) to put under a chart."""
    items = []
    for k, name in enumerate(names):
        style = "border-top: 2px dashed" if k < len(dashed) and dashed[k] else "border-top: 3px solid"
        items.append(f'<span class="key"><i style="{style} {PALETTE[k % len(PALETTE)]}"></i>{escape(name)}</span>')
    return f'<div class="legend">{"".join(items)}</div>'

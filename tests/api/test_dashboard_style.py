"""The dashboard's colours, read from its shipped files: one palette made for colour-blind readers, defined once
(dashboard.css), and every colour pair the stylesheet draws text or a control edge with meets WCAG AA contrast.
The browser tests (test_dashboard.py) check the rendered page the same way."""

from __future__ import annotations

import re
from importlib import resources

import pytest

STATIC = resources.files("postlens.serve.dashboard") / "static"
OKABE_ITO = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"}
"""Okabe & Ito (2008), "Color Universal Design": the eight colours the palette must be."""
HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")
TEXT_CONTRAST = 4.5  # WCAG 2.1 AA, 1.4.3: body text
EDGE_CONTRAST = 3.0  # WCAG 2.1 AA, 1.4.11: focus rings, field borders


def css() -> str:
    return (STATIC / "dashboard.css").read_text(encoding="utf-8")


def variables() -> dict[str, str]:
    root = re.search(r":root\s*\{(.*?)\}", css(), re.S)
    assert root, "dashboard.css has no :root block"
    return {name: value.strip() for name, value in re.findall(r"--([\w-]+)\s*:\s*([^;]+);", root.group(1))}


def luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_measured_as_wcag_defines_it() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-failing grey
    assert contrast("#0072B2", "#0072B2") == pytest.approx(1.0)


def test_the_chart_palette_is_okabe_ito_and_defined_only_in_the_stylesheet() -> None:
    palette = [c.strip().lower() for c in variables()["palette"].split(",")]
    assert set(palette) == OKABE_ITO and len(palette) == len(OKABE_ITO)
    for name in ("dashboard.js", "index.html"):
        literals = HEX.findall((STATIC / name).read_text(encoding="utf-8"))
        assert literals == [], f"{name} writes colours of its own {literals}: take them from dashboard.css"


def test_every_text_and_edge_colour_meets_wcag_aa_on_what_it_is_drawn_on() -> None:
    found = variables()
    text_on = {  # (text colour, background) as the stylesheet pairs them
        ("ink", "bg"),
        ("muted", "bg"),
        ("accent", "bg"),
        ("accent", "hover"),
        ("on-accent", "accent"),
        ("warn", "bg"),
    }
    edges_on = {("focus", "bg"), ("field", "bg"), ("accent", "bg")}
    low = [
        f"--{fg} on --{bg}: {contrast(found[fg], found[bg]):.2f}:1 (needs {need})"
        for pairs, need in ((text_on, TEXT_CONTRAST), (edges_on, EDGE_CONTRAST))
        for fg, bg in sorted(pairs)
        if contrast(found[fg], found[bg]) < need
    ]
    assert low == [], low
    used = set(re.findall(r"(?<![-\w])color:\s*var\(--([\w-]+)\)", css()))
    assert used and used <= {fg for fg, _ in text_on}, (
        f"text colours not checked above: {used - {f for f, _ in text_on}}"
    )
    literal = [d for d in re.findall(r"[^{};]*:[^;{}]*#[0-9a-fA-F]{3,8}\b[^;{}]*", css()) if "--" not in d]
    assert literal == [], f"colours outside :root's variables: {literal}"

"""The hand-written SVG bar chart: valid XML, one bar per value, lengths in proportion, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from automlops.core.svg import bar_chart_svg

NS = {"svg": "http://www.w3.org/2000/svg"}


def _bars(svg: str) -> list[tuple[str, float, float]]:
    root = ET.fromstring(svg)
    return [(bar.find("svg:title", NS).text or "", float(bar.get("y")), float(bar.get("width")))
            for bar in root.iterfind(".//svg:rect[@class='bar']", NS)]


def test_each_value_is_a_bar_from_the_top_in_proportion_to_its_value() -> None:
    svg = bar_chart_svg(["worst radius", "mean texture", "a<b & 'c'"], [0.8, 0.2, 0.0],
                        title="Feature importance by SHAP (class 1)", x_label="mean |SHAP| (log-odds)")
    bars = _bars(svg)
    assert [title.split(":")[0] for title, _, _ in bars] == ["worst radius", "mean texture", "a<b & 'c'"]
    assert [y for _, y, _ in bars] == sorted(y for _, y, _ in bars)  # the first value at the top
    assert bars[0][2] == pytest.approx(4 * bars[1][2]) and bars[2][2] == 0.0
    texts = [t.text for t in ET.fromstring(svg).iterfind(".//svg:text", NS)]
    assert "Feature importance by SHAP (class 1)" in texts and "mean |SHAP| (log-odds)" in texts
    assert "a<b & 'c'" in texts  # escaped in the file, read back as written


def test_odd_values_still_draw_a_chart() -> None:
    bars = _bars(bar_chart_svg(["x", "y"], [float("nan"), -1.0], title="t", x_label="v"))
    assert [width for _, _, width in bars] == [0.0, 0.0]
    assert _bars(bar_chart_svg([], [], title="t", x_label="v")) == []

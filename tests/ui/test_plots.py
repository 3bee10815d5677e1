"""The learning curve's geometry: ticks on round numbers, labels that read right, the mean."""

from __future__ import annotations

import pytest
from rememberer.ui import plots


def test_rolling_mean_averages_the_last_window() -> None:
    assert plots.rolling_mean([1.0, 2.0, 3.0, 4.0], 2) == [1.0, 1.5, 2.5, 3.5]


@pytest.mark.parametrize(
    ("low", "high", "labels"),
    [
        (0.0, 1.125, ["0", "0.25", "0.5", "0.75", "1", "1.25"]),
        (-3.0, 7.0, ["-4", "-2", "0", "2", "4", "6", "8"]),
        (0.0, 250.0, ["0", "50", "100", "150", "200", "250"]),
        (2.0, 2.0, ["1", "1.5", "2", "2.5", "3"]),
    ],
)
def test_ticks_are_round_and_cover_the_range(low: float, high: float, labels: list[str]) -> None:
    start, end, step = plots.nice_range(low, high)
    assert start <= low and end >= high
    values = [start + i * step for i in range(round((end - start) / step) + 1)]
    assert [plots.tick_label(v, step) for v in values] == labels


def test_rising_returns_draw_a_rising_mean() -> None:
    chart = plots.learning_curve([i / 10 for i in range(40)])
    assert chart is not None and chart.count == 40 and chart.last_mean > chart.first_mean
    ys = [float(p.split(",")[1]) for p in chart.mean_path[1:].replace("L", " ").split()]
    assert ys == sorted(ys, reverse=True)  # SVG y grows downwards
    assert all(
        chart.left <= x <= chart.right and chart.top <= y <= chart.bottom for x, y in chart.dots
    )
    assert chart.x_ticks[0].label == "1"
    assert plots.learning_curve([]) is None

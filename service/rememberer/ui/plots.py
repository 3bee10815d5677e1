"""The learning curve as SVG geometry: plot area, ticks on round numbers, one dot per
finished episode and the rolling mean as a line. The template (`_curve.html`) draws it,
so every label passes through the templates' autoescaping like any other text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 760
HEIGHT = 300
LEFT = 64  # room for the y tick labels and the axis title
RIGHT = 16
TOP = 40  # room for the legend above the plot area
BOTTOM = 52  # room for the x tick labels and the axis title
TICKS = 5


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x pixel of the plot area's right edge
    top: int
    bottom: int  # y pixel of the plot area's bottom edge
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    dots: list[tuple[float, float]]
    mean_path: str
    zero_y: float | None  # the y = 0 line, when 0 is inside the range
    window: int
    count: int
    first_mean: float
    last_mean: float


def rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of each value with up to `window - 1` values before it."""
    means, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        means.append(total / min(index + 1, window))
    return means


def window_for(count: int) -> int:
    """About a tenth of the episodes, at least 3 and at most 50."""
    return max(3, min(50, count // 10 or 1))


def nice_step(span: float, ticks: int = TICKS) -> float:
    raw = span / max(1, ticks)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return 10.0 * magnitude


def nice_range(low: float, high: float) -> tuple[float, float, float]:
    """(start, end, step): round numbers around [low, high]."""
    if math.isclose(low, high):
        low, high = low - 1.0, high + 1.0
    step = nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def tick_label(value: float, step: float) -> str:
    """As many decimals as the step needs (0.25 -> 2), none trailing."""
    decimals = max(0, 2 - math.floor(math.log10(step)))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _x_ticks(count: int, left: int, right: int) -> list[Tick]:
    """Episode numbers 1..count on the x axis."""
    if count == 1:
        return [Tick(at=(left + right) / 2, label="1")]
    step = max(1, round(nice_step(count - 1)))
    numbers = [1, *range(step, count + 1, step)]
    if numbers[1:2] == [1]:
        numbers = numbers[1:]
    return [Tick(at=_scale(n, 1, count, left, right), label=str(n)) for n in numbers]


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return (start + end) / 2
    return start + (value - low) / (high - low) * (end - start)


def learning_curve(returns: Sequence[float]) -> Chart | None:
    """The chart of the returns in order, or None without any."""
    if not returns:
        return None
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    window = window_for(len(returns))
    means = rolling_mean(returns, window)
    low, high, step = nice_range(min(returns), max(returns))
    count = len(returns)

    def x(index: int) -> float:
        return round(_scale(index + 1, 1, count, LEFT, right), 1)

    def y(value: float) -> float:
        return round(_scale(value, low, high, bottom, TOP), 1)

    values = [low + i * step for i in range(round((high - low) / step) + 1)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(i)},{y(m)}" for i, m in enumerate(means))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        x_ticks=_x_ticks(count, LEFT, right),
        y_ticks=[Tick(at=y(v), label=tick_label(v, step)) for v in values],
        dots=[(x(i), y(r)) for i, r in enumerate(returns)],
        mean_path=path,
        zero_y=y(0.0) if low < 0 < high else None,
        window=window,
        count=count,
        first_mean=means[min(window, count) - 1],
        last_mean=means[-1],
    )

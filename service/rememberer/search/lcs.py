"""The paper's WikiHow observation similarity: how alike two screens are in layout.

A screen is reduced to its line-level element sequence (the tag name of each HTML line,
else the line's first token); two screens are as similar as the longest common subsequence
of their sequences, divided by the longer length. Retrieval applies it as an exact re-rank
of the vector index's top candidates (rememberer.retrieval).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# "<div class=…>" → "div", "</p>" → "/p", "<br/>" → "br": what follows "<" up to a space,
# "/" or ">" (a leading "/" kept, so that closing lines differ from opening ones).
_TAG = re.compile(r"<\s*(/?[^\s/>]*)")


def element_sequence(observation: str) -> list[str]:
    """One element per non-blank line: its HTML tag name, or its first token."""
    elements = []
    for line in observation.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        tag = _TAG.match(stripped)
        elements.append(tag.group(1) if tag else stripped.split(maxsplit=1)[0])
    return elements


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence, by the bit-parallel algorithm (Allison and
    Dix; Hyyrö): one big-integer step per element of `second`, not a table of cells."""
    if not first or not second:
        return 0
    positions: dict[str, int] = {}
    for index, element in enumerate(first):
        positions[element] = positions.get(element, 0) | (1 << index)
    every = (1 << len(first)) - 1
    # A zero bit in `row` marks a position of `first` that ends a longer common subsequence.
    row = every
    for element in second:
        matches = row & positions.get(element, 0)
        row = ((row + matches) | (row - matches)) & every
    return len(first) - row.bit_count()


class ElementSimilarity:
    """LCS similarity to one query screen; the query's sequence is computed once."""

    def __init__(self, query_observation: str) -> None:
        self.query = element_sequence(query_observation)

    def __call__(self, observation: str) -> float:
        other = element_sequence(observation)
        longer = max(len(self.query), len(other))
        if longer == 0:
            return 1.0  # two screens without elements are alike
        return lcs_length(self.query, other) / longer

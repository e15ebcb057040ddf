"""The reader's score: answer accuracy overall and per question type, in percent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def accuracy_by_type(
    correct: Sequence[bool], types: Sequence[str]
) -> tuple[float, dict[str, float]]:
    """Overall and per-type accuracy, in percent."""
    by_type: dict[str, list[bool]] = defaultdict(list)
    for hit, kind in zip(correct, types):
        by_type[kind].append(hit)
    overall = 100 * sum(correct) / max(1, len(correct))
    return overall, {k: 100 * sum(v) / len(v) for k, v in sorted(by_type.items())}

"""Classification scores: accuracy, macro-averaged F1 (every class counts the same, whatever its
size), per-class precision/recall/F1, and the confusion matrix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from nmt.engine.scores import precision_recall_f1
from nmt.errors import NmtError


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Scores in percent; the confusion matrix counts [gold][predicted] in `labels` order."""
    if len(gold) != len(predicted):
        raise NmtError(f"{len(gold)} gold labels but {len(predicted)} predicted")
    pairs = Counter(zip(gold, predicted))
    labels = list(labels) + sorted(set(gold) - set(labels))
    per_class = {
        label: precision_recall_f1(
            pairs[(label, label)],
            sum(n for (_, p), n in pairs.items() if p == label),
            sum(n for (g, _), n in pairs.items() if g == label),
        )
        for label in labels
    }
    present = [label for label in labels if per_class[label]["support"] > 0]
    correct = sum(pairs[(label, label)] for label in labels)
    return {
        "examples": len(gold),
        "accuracy": 100 * correct / len(gold) if gold else 0.0,
        "macro_f1": sum(per_class[label]["f1"] for label in present) / max(1, len(present)),
        "per_class": per_class,
        "confusion": {
            "labels": labels,
            "matrix": [[pairs[(g, p)] for p in labels] for g in labels],  # [gold][predicted]
        },
    }

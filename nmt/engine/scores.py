"""Scores that several tasks' evaluations share."""

from __future__ import annotations


def precision_recall_f1(correct: int, predicted: int, gold: int) -> dict[str, float]:
    """Precision, recall and F1 in percent of `correct` hits among `predicted` answers and
    `gold` expected ones, and the gold count (support)."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1, "support": gold}

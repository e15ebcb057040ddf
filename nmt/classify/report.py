"""Classification reports: a plain-text summary for the terminal, report.md (per-class table,
confusion matrix, and the words attention pooling looked at) and confusion.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

CONFUSION_PLOT = "confusion.png"


def format_scores(scores: dict[str, Any]) -> str:
    return (f"texts: {scores['examples']}  accuracy: {scores['accuracy']:.2f}  "
            f"macro-F1: {scores['macro_f1']:.2f}")  # fmt: skip


def markdown_report(scores: dict[str, Any]) -> str:
    labels = scores["confusion"]["labels"]
    parts = [f"# Classification report: {Path(scores['data']).name}", "",
             format_scores(scores), "", "## Classes", "",
             "| label | precision | recall | F1 | support |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for label, row in scores["per_class"].items():
        parts.append(f"| {label} | {row['precision']:.2f} | {row['recall']:.2f} | "
                     f"{row['f1']:.2f} | {row['support']} |")  # fmt: skip
    parts += ["", f"## Confusion matrix (rows: gold, columns: predicted; {CONFUSION_PLOT})", "",
              "| gold \\ predicted | " + " | ".join(labels) + " |",
              "|---|" + "---:|" * len(labels)]  # fmt: skip
    for label, counts in zip(labels, scores["confusion"]["matrix"]):
        parts.append(f"| {label} | " + " | ".join(str(n) for n in counts) + " |")
    if scores["examples_shown"]:
        parts += ["", "## Where attention pooling looked", "",
                  "Each token with its weight; the heaviest three in bold.", ""]  # fmt: skip
        for example in scores["examples_shown"]:
            heaviest = sorted(range(len(example["weights"])), key=example["weights"].__getitem__)
            bold = set(heaviest[-3:])
            words = " ".join(
                f"**{token}**({weight:.2f})" if i in bold else f"{token}({weight:.2f})"
                for i, (token, weight) in enumerate(zip(example["tokens"], example["weights"]))
            )
            parts += [f"- line {example['line']}, {example['label']} (predicted "
                      f"{example['predicted']}): {words}"]  # fmt: skip
    return "\n".join(parts) + "\n"


def plot_confusion(confusion: dict[str, Any]) -> Figure:
    """The confusion matrix as a heat map with the counts written in."""
    labels, matrix = confusion["labels"], confusion["matrix"]
    size = max(3.0, 0.6 * len(labels) + 1.5)
    figure = Figure(figsize=(size, size))
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    top = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            axes.text(j, i, str(count), ha="center", va="center",
                      color="white" if count > top / 2 else "black")  # fmt: skip
    figure.tight_layout()
    return figure

"""Memory-network reports: a plain-text summary for the terminal and report.md with accuracy per
question type and, for a few examples, each hop's addressing weight on every sentence (each
layer's update gate for the query-reduction reader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def format_scores(scores: dict[str, Any]) -> str:
    lines = [f"questions: {scores['questions']}  accuracy: {scores['accuracy']:.2f}"]
    lines += [f"  {kind}: {value:.2f}" for kind, value in scores["accuracy_by_type"].items()]
    return "\n".join(lines)


def markdown_report(scores: dict[str, Any]) -> str:
    parts = [f"# Memory-network report: {Path(scores['data']).name}", "",
             "| question type | accuracy |", "|---|---:|"]  # fmt: skip
    parts += [f"| {k} | {v:.2f} |" for k, v in scores["accuracy_by_type"].items()]
    parts += [f"| **all** | **{scores['accuracy']:.2f}** |", ""]
    for number, example in enumerate(scores["examples"], start=1):
        hops, per = len(example["weights"]), scores.get("weights_per", "hop")
        parts += [
            f"## Example {number} ({example['type']})", "",
            f"{example['question']} answer: {example['answer']}, predicted: "
            f"{example['predicted']}. Supporting sentences are marked *.", "",
            "| # | sentence | " + " | ".join(f"{per} {h + 1}" for h in range(hops)) + " |",
            "|---|---|" + "---:|" * hops,
        ]  # fmt: skip
        for i, sentence in enumerate(example["story"]):
            mark = "*" if i in example["supporting"] else ""
            cells = " | ".join(f"{hop[i]:.2f}" for hop in example["weights"])
            parts.append(f"| {i}{mark} | {sentence} | {cells} |")
        parts.append("")
    return "\n".join(parts)

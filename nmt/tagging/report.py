"""Tagging reports: a plain-text summary for the terminal and report.md with the per-tag (and
per-entity-type) table and the most frequent confusions."""

from __future__ import annotations

from typing import Any


def format_scores(scores: dict[str, Any]) -> str:
    """A short plain-text summary for the terminal."""
    lines = [
        f"sentences: {scores['sentences']}  tokens: {scores['tokens']}",
        f"token accuracy: {scores['accuracy']:.2f}",
    ]
    if "entities" in scores:
        entities = scores["entities"]
        lines.append(
            f"entities: precision {entities['precision']:.2f}  recall {entities['recall']:.2f}  "
            f"F1 {entities['f1']:.2f}  ({entities['support']} gold entities)"
        )
    return "\n".join(lines)


def markdown_report(scores: dict[str, Any], title: str) -> str:
    """report.md: the summary, then a per-tag (and per-entity-type) table."""
    parts = [f"# {title}", "", format_scores(scores).replace("\n", "  \n"), ""]
    if "entities" in scores:
        parts += ["## Entities by type", "", *_table(scores["entities"]["per_type"], "type"), ""]
    parts += ["## Tags", "", *_table(scores["per_tag"], "tag"), ""]
    if scores.get("confusions"):
        parts += ["## Most frequent errors", "", "| gold | predicted | count |", "|---|---|---:|"]
        parts += [
            f"| {c['gold']} | {c['predicted']} | {c['count']} |" for c in scores["confusions"]
        ]
        parts.append("")
    return "\n".join(parts)


def _table(rows: dict[str, dict[str, float]], name: str) -> list[str]:
    lines = [f"| {name} | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for key, row in rows.items():
        lines.append(
            f"| {key} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} "
            f"| {row['support']} |"
        )
    return lines

"""What `nmt lm score` prints: a TSV row per line (line, tokens, nats per token, perplexity,
bits per token) and the totals."""

from __future__ import annotations

from typing import Any


def format_score_lines(scores: dict[str, Any]) -> str:
    rows = ["line\ttokens\tnats_per_token\tperplexity\tbits_per_token"]
    rows += [
        f"{row['line']}\t{row['tokens']}\t{row['nats_per_token']:.4f}\t{row['perplexity']:.3f}\t"
        f"{row['bits_per_token']:.4f}"
        for row in scores.get("lines", [])
    ]
    return "\n".join(rows) + "\n"


def format_total(scores: dict[str, Any]) -> str:
    total = scores["total"]
    unit = "character" if scores["units"] == "chars" else "piece"
    return (f"{total['tokens']} {unit}s: {total['nats_per_token']:.4f} nats/{unit}, perplexity "
            f"{total['perplexity']:.3f}, {total['bits_per_token']:.4f} bits/{unit}")  # fmt: skip

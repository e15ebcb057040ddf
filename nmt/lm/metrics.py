"""A language model's scores: cross-entropy per token in nats, perplexity, and bits per token
(bits per character for a character model)."""

from __future__ import annotations

import math


def cross_entropy(nll_sum: float, tokens: int) -> dict[str, float]:
    """Scores of `tokens` predicted tokens whose negative log-likelihoods sum to `nll_sum`."""
    nats = nll_sum / tokens if tokens else 0.0
    return {
        "tokens": tokens,
        "nats_per_token": nats,
        "bits_per_token": nats / math.log(2),
        "perplexity": math.exp(min(nats, 50.0)),
    }

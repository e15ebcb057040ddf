"""Losses over output-layer logits, shared by the tasks that predict tokens."""

from __future__ import annotations

import torch


def smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, label_smoothing: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed label-smoothed loss and summed NLL of logits `[N, V]` against target `[N]`.

    The smoothing mass is spread uniformly over the whole vocabulary, as in
    `torch.nn.functional.cross_entropy(label_smoothing=...)`; one log-softmax serves both sums.
    """
    return smoothed_nll(torch.log_softmax(logits.float(), dim=-1), target, label_smoothing)


def smoothed_nll(
    log_probs: torch.Tensor, target: torch.Tensor, label_smoothing: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """`smoothed_cross_entropy` of log-probabilities `[N, V]` that are already normalised (a
    mixture of distributions, say, rather than one softmax)."""
    nll_sum = -log_probs.gather(1, target[:, None]).sum()
    if label_smoothing == 0.0:
        # The mean's backward would add a full [N, V] division and sum for a zero weight.
        return nll_sum, nll_sum
    uniform_sum = -log_probs.mean(dim=-1).sum()
    return (1.0 - label_smoothing) * nll_sum + label_smoothing * uniform_sum, nll_sum

"""Losses over output-layer logits, shared by the tasks that predict tokens."""

from __future__ import annotations

from typing import NamedTuple

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
    # Without smoothing no mean: its backward would add a full [N, V] pass for a zero weight.
    scores = TokenScores.of(log_probs, target, with_mean=label_smoothing > 0)
    return scores.smoothed_sums(label_smoothing)


class TokenScores(NamedTuple):
    """Per target token, what a label-smoothed loss needs of its distribution: `smoothed_nll`
    takes them from one `[N, V]` tensor, a loss built from parts (the glossary memory's copy
    mixture) computes them without one."""

    target: torch.Tensor  # [N] log-probability of the target token
    mean: torch.Tensor | None  # [N] mean log-probability over the vocabulary; None: not needed

    @classmethod
    def of(cls, log_probs: torch.Tensor, target: torch.Tensor, with_mean: bool) -> TokenScores:
        """The scores of log-probabilities `[N, V]` against target `[N]`."""
        mean = log_probs.mean(dim=-1) if with_mean else None
        return cls(log_probs.gather(1, target[:, None])[:, 0], mean)

    def smoothed_sums(
        self, label_smoothing: float, keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`smoothed_nll`'s two sums, over the tokens where `keep` `[N]` is True (all: None)."""
        nll = -self.target
        loss = nll if label_smoothing == 0.0 else (
            (1.0 - label_smoothing) * nll - label_smoothing * self.mean
        )  # fmt: skip
        if keep is not None:
            loss, nll = loss[keep], nll[keep]
        return loss.sum(), nll.sum()

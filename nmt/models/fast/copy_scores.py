"""The glossary memory's training scores without its `[N, V]` mixture.

`nmt.models.glossary.mixture_scores` builds the copy mixture over the whole vocabulary and reads
the target's log-probability and the mean from it: with its backward, several passes over an
`[N, V]` tensor (about 15 ms of a 185 ms training step of multi30k_en_de_glossary on 2 cores).
The mixture differs from the output layer's log-probabilities plus log(1 - g) only at the M
slot pieces of a row, so both scores follow from the output layer's own scores at the target and
the slot pieces, its mean, and the M gains of `copy_changes`.

Those reads of the log-probabilities go through `ScoresAt`: one gather and one mean forward, one
`[N, V]` gradient backward. Autograd would give each read its own `[N, V]` gradient (two zero
fills with a scatter, the mean's expanded division) and add them up: four more passes over the
largest tensor of the step.
"""

from __future__ import annotations

from typing import Any

import torch

from nmt.models.glossary import CopyWeights, copy_changes
from nmt.models.loss import TokenScores


def copy_scores(
    log_probs: torch.Tensor, copy: CopyWeights, target: torch.Tensor, with_mean: bool
) -> TokenScores:
    """`nmt.models.glossary.mixture_scores`, computed at the slot pieces only."""
    columns = torch.cat([target[:, None], copy.pieces], dim=1)
    at_columns, mean = ScoresAt.apply(log_probs, columns, with_mean)
    keep, changes = copy_changes(at_columns[:, 1:], *copy)  # [N], [N, M]
    # The slots holding the target's piece share its gain (copy_changes); the others add 0.
    at_target = torch.where(copy.pieces == target[:, None], changes, 0.0).sum(-1)
    target_scores = at_columns[:, 0] + keep + at_target
    if not with_mean:
        return TokenScores(target_scores, None)
    mean = mean + keep + changes.sum(-1) / log_probs.size(-1)
    return TokenScores(target_scores, mean)


class ScoresAt(torch.autograd.Function):
    """Scores `[N, V]` -> their values at `columns` `[N, K]` and, `with_mean`, each row's mean
    `[N]` (else an empty tensor), with a backward pass that writes the scores' gradient once."""

    @staticmethod
    def forward(
        ctx: Any, scores: torch.Tensor, columns: torch.Tensor, with_mean: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(columns)
        ctx.shape, ctx.dtype, ctx.with_mean = scores.shape, scores.dtype, with_mean
        mean = scores.mean(dim=-1) if with_mean else scores.new_empty(0)
        return scores.gather(1, columns), mean

    @staticmethod
    def backward(ctx: Any, grad_at: torch.Tensor | None, grad_mean: torch.Tensor | None) -> tuple:
        (columns,) = ctx.saved_tensors
        rows, vocabulary = ctx.shape
        if ctx.with_mean and grad_mean is not None:
            grad = (grad_mean / vocabulary)[:, None].expand(rows, vocabulary).contiguous()
        else:
            grad = columns.new_zeros(rows, vocabulary, dtype=ctx.dtype)
        if grad_at is not None:
            grad.scatter_add_(1, columns, grad_at)
        return grad, None, None

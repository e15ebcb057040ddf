"""The glossary memory's training scores without its `[N, V]` mixture.

`nmt.models.glossary.mixture_scores` builds the copy mixture over the whole vocabulary and reads
the target's log-probability and the mean from it: with its backward, several passes over an
`[N, V]` tensor (about 15 ms of a 185 ms training step of multi30k_en_de_glossary on 2 cores).
The mixture differs from the output layer's log-probabilities plus log(1 - g) only at the M
slot pieces of a row, so both scores follow from the output layer's own scores and the M gains
of `copy_changes`. The target's and the pieces' log-probabilities are read in one
`picked_log_probs`, whose backward is one pass over `[N, V]`.
"""

from __future__ import annotations

import torch

from nmt.models.fast.token_scores import picked_log_probs
from nmt.models.glossary import CopyWeights, copy_changes
from nmt.models.loss import TokenScores


def copy_scores(
    log_probs: torch.Tensor, copy: CopyWeights, target: torch.Tensor, with_mean: bool
) -> tuple[TokenScores, TokenScores]:
    """`nmt.models.glossary.mixture_scores`, computed at the target and the slot pieces only."""
    columns = torch.cat([target[:, None], copy.pieces], dim=1)
    picked, mean = picked_log_probs(log_probs, columns, with_mean)
    generated = TokenScores(picked[:, 0], mean)
    keep, changes = copy_changes(picked[:, 1:], copy.weights, copy.gate, copy.pieces)
    # The slots holding the target's piece share its gain (copy_changes); the others add 0.
    at_target = torch.where(copy.pieces == target[:, None], changes, 0.0).sum(-1)
    target_scores = generated.target + keep + at_target
    if mean is None:
        return generated, TokenScores(target_scores, None)
    mixture_mean = mean + keep + changes.sum(-1) / log_probs.size(-1)
    return generated, TokenScores(target_scores, mixture_mean)

"""A linear-chain conditional random field (Lafferty et al. 2001) for sequence tagging.

The score of a tag path y over emissions e [T, K] is
    start[y_0] + sum_t e[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_last].
Transitions that a constraint forbids (e.g. O -> I-PER in BIO) get a fixed score of
`DISALLOWED`: finite, so nothing becomes NaN, and low enough never to win Viterbi.
Every method takes emissions [B, T, K] and a prefix mask [B, T] (each length >= 1), and
works in float32 whatever the emission dtype.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

DISALLOWED = -1e4


def bio_transition_constraints(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(allowed [K, K], allowed_start [K]) for BIO/IOB2 tags: I-X may only follow B-X or I-X.

    allowed[i, j] says whether tag j may follow tag i. Tags other than B-*, I-* and O are
    unconstrained, in either direction.
    """
    allowed = torch.ones(len(tags), len(tags), dtype=torch.bool)
    allowed_start = torch.ones(len(tags), dtype=torch.bool)
    for j, tag in enumerate(tags):
        if not tag.startswith("I-"):
            continue
        allowed_start[j] = False
        for i, prev in enumerate(tags):
            if prev == "O" or prev.startswith(("B-", "I-")):
                allowed[i, j] = prev[2:] == tag[2:]
    return allowed, allowed_start


class LinearChainCRF(nn.Module):
    def __init__(
        self,
        num_tags: int,
        allowed: torch.Tensor | None = None,
        allowed_start: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        if allowed is None:
            allowed = torch.ones(num_tags, num_tags, dtype=torch.bool)
        if allowed_start is None:
            allowed_start = torch.ones(num_tags, dtype=torch.bool)
        if allowed.shape != (num_tags, num_tags) or allowed_start.shape != (num_tags,):
            raise ValueError(
                f"constraints for {num_tags} tags need shapes [{num_tags}, {num_tags}] and "
                f"[{num_tags}], got {list(allowed.shape)} and {list(allowed_start.shape)}"
            )
        self.register_buffer("allowed", allowed.bool().clone())
        self.register_buffer("allowed_start", allowed_start.bool().clone())

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transitions [K, K], start [K] and end [K] in float32, with the constraints applied."""
        transitions = self.transitions.float().masked_fill(~self.allowed, DISALLOWED)
        start = self.start.float().masked_fill(~self.allowed_start, DISALLOWED)
        return transitions, start, self.end.float()

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z [B]: logsumexp of the scores of all paths (the forward algorithm)."""
        emissions = emissions.float()
        transitions, start, end = self._scores()
        alpha = start + emissions[:, 0]  # [B, K]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha[:, :, None] + transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def path_score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Unnormalized score [B] of the paths `tags` [B, T]."""
        emissions = emissions.float()
        transitions, start, end = self._scores()
        emitted = emissions.gather(2, tags[:, :, None]).squeeze(2)  # [B, T]
        moved = transitions[tags[:, :-1], tags[:, 1:]]  # [B, T-1]
        last_tags = tags.gather(1, mask.sum(1, keepdim=True) - 1).squeeze(1)
        return (
            start[tags[:, 0]]
            + torch.where(mask, emitted, 0.0).sum(1)
            + torch.where(mask[:, 1:], moved, 0.0).sum(1)
            + end[last_tags]
        )

    def log_likelihood(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """log p(tags | emissions) [B]."""
        return self.path_score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def viterbi(
        self, emissions: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Best paths [B, T] (0 on padding) and their scores [B]."""
        emissions = emissions.float()
        transitions, start, end = self._scores()
        batch_size, length, num_tags = emissions.shape
        identity = torch.arange(num_tags, device=emissions.device).expand(batch_size, num_tags)
        score = start + emissions[:, 0]  # [B, K]
        backpointers = []
        for t in range(1, length):
            best, previous = (score[:, :, None] + transitions).max(dim=1)
            score = torch.where(mask[:, t, None], best + emissions[:, t], score)
            # On padding each tag points to itself, so backtracking carries the last tag through.
            backpointers.append(torch.where(mask[:, t, None], previous, identity))
        best_score, tag = (score + end).max(dim=1)
        path = [tag]
        for previous in reversed(backpointers):
            tag = previous.gather(1, tag[:, None]).squeeze(1)
            path.append(tag)
        paths = torch.stack(path[::-1], dim=1)
        return paths.masked_fill(~mask, 0), best_score

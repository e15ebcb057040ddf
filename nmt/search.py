"""Search over any model with the encode / decode_step / reorder interface.

Search never looks inside the model: it only calls the three methods of `StepModel`.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import torch


class StepModel(Protocol):
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> NamedTuple: ...

    def decode_step(self, prev_tokens: torch.Tensor, state: NamedTuple) -> NamedTuple: ...

    def reorder(self, state: NamedTuple, index: torch.Tensor) -> NamedTuple: ...


class Hypotheses(NamedTuple):
    tokens: torch.Tensor  # [B, T] output ids after BOS, EOS included when produced, PAD after
    scores: torch.Tensor  # [B] sum of log-probabilities
    attention: torch.Tensor | None  # [B, T, S] (attentional models)


def max_output_lengths(src_lengths: torch.Tensor, a: float, b: int) -> torch.Tensor:
    """Per sentence, the most tokens search may produce: a * source length + b."""
    return (src_lengths.float() * a + b).long().clamp(min=1)


@torch.inference_mode()
def greedy_search(
    model: StepModel,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    max_length_a: float = 1.5,
    max_length_b: int = 10,
) -> Hypotheses:
    """The most probable token at every step, for the whole batch at once."""
    batch_size = src.size(0)
    limits = max_output_lengths(src_lengths, max_length_a, max_length_b).to(src.device)
    state = model.encode(src, src_lengths)
    prev = torch.full((batch_size,), bos_id, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=src.device)
    scores = torch.zeros(batch_size, device=src.device)
    tokens, attention = [], []
    for t in range(int(limits.max())):
        step = model.decode_step(prev, state)
        best_scores, best = step.log_probs.max(dim=-1)
        best = best.masked_fill(finished, pad_id)
        scores += best_scores.masked_fill(finished, 0.0)
        tokens.append(best)
        if step.attention is not None:
            attention.append(step.attention)
        finished |= (best == eos_id) | (t + 1 >= limits)
        if bool(finished.all()):
            break
        prev, state = best, step.state
    return Hypotheses(
        torch.stack(tokens, dim=1), scores, torch.stack(attention, dim=1) if attention else None
    )

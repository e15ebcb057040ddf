"""Summaries of a recurrent layer's outputs over a whole sequence, for models that give one answer
per sequence. Each takes the outputs `[B, T, H]`, the mask `[B, T]` (True on real positions) and
the layer's final states `[B, H]`, and returns a vector `[B, H]` and, where it has them, weights
`[B, T]` over the positions (which tokens the summary looked at).

- `last`: the final states ("it has read everything"; for a bidirectional layer the forward
  direction's last step and the backward direction's first);
- `max`: the largest value of each feature over the positions (Collobert et al. 2011; Conneau et
  al. 2017 found it the best general sentence summary);
- `mean`: the average over the positions;
- `attention`: a learned weighted average, a = softmax(v^T tanh(W h_t)) (Yang et al. 2016).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class Pooled(NamedTuple):
    vector: torch.Tensor  # [B, H]
    weights: torch.Tensor | None  # [B, T], 0 on padding (attention pooling only)


class LastPooling(nn.Module):
    def forward(self, outputs: torch.Tensor, mask: torch.Tensor, final: torch.Tensor) -> Pooled:
        return Pooled(final, None)


class MaxPooling(nn.Module):
    def forward(self, outputs: torch.Tensor, mask: torch.Tensor, final: torch.Tensor) -> Pooled:
        masked = outputs.masked_fill(~mask[:, :, None], float("-inf"))
        return Pooled(masked.max(dim=1).values, None)


class MeanPooling(nn.Module):
    def forward(self, outputs: torch.Tensor, mask: torch.Tensor, final: torch.Tensor) -> Pooled:
        summed = (outputs * mask[:, :, None]).sum(dim=1)
        return Pooled(summed / mask.sum(dim=1, keepdim=True).clamp(min=1), None)


class AttentionPooling(nn.Module):
    def __init__(self, size: int, attention_size: int) -> None:
        super().__init__()
        self.projection = nn.Linear(size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(self, outputs: torch.Tensor, mask: torch.Tensor, final: torch.Tensor) -> Pooled:
        scores = self.score(torch.tanh(self.projection(outputs)))[:, :, 0]  # [B, T]
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")).float(), dim=-1)
        weights = weights.to(outputs.dtype)
        return Pooled(torch.bmm(weights[:, None, :], outputs)[:, 0], weights)


POOLINGS = ("last", "max", "mean", "attention")


def build_pooling(name: str, size: int, attention_size: int) -> nn.Module:
    """The pooling called `name` for outputs of `size` features."""
    if name == "attention":
        return AttentionPooling(size, attention_size)
    return {"last": LastPooling, "max": MaxPooling, "mean": MeanPooling}[name]()

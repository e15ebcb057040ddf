"""Attention scores over the encoder outputs.

- AdditiveAttention (Bahdanau et al. 2015, eq. 6): score(q, k) = v^T tanh(W_q q + W_k k)
- DotAttention (Luong et al. 2015, "dot"):          score(q, k) = q^T k
- GeneralAttention (Luong et al. 2015, "general"):  score(q, k) = q^T W k

Every class has the same constructor, (query_size, key_size, hidden_size, tanh), and the same two
calls. `project_keys` runs once per sentence (its result travels in the decoder state, nothing is
cached on the module); `forward` takes queries `[B, T, Q]` (T = 1 for one search step) and returns
a context `[B, T, K]` and weights `[B, T, S]` that are exactly zero on padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn

Activation = Callable[[torch.Tensor], torch.Tensor]


class AttentionOutput(NamedTuple):
    context: torch.Tensor  # [B, T, K]
    weights: torch.Tensor  # [B, T, S]


def _attend(scores: torch.Tensor, values: torch.Tensor, mask: torch.Tensor) -> AttentionOutput:
    """Masked softmax of scores `[B, T, S]` and the weighted sum of values `[B, S, K]`."""
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    weights = torch.softmax(scores.float(), dim=-1).to(values.dtype)
    return AttentionOutput(torch.bmm(weights, values), weights)


class ScoreVector(nn.Module):
    """The v of v^T tanh(...): one score per hidden vector, as a matrix-vector product (as an
    nn.Linear with one output, the product and its backward run as matrix products with a
    dimension of 1, several times slower on CPU). The weight has nn.Linear's name, shape [1, A]
    and initialisation, so checkpoints are unchanged, and dynamic quantization, which replaces
    nn.Linear layers, leaves it as it is."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Linear's default

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.weight[0]  # [..., A] -> [...]


class AdditiveAttention(nn.Module):
    def __init__(
        self, query_size: int, key_size: int, hidden_size: int, tanh: Activation = torch.tanh
    ) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_size, hidden_size, bias=False)
        self.query_proj = nn.Linear(query_size, hidden_size, bias=False)
        self.energy = ScoreVector(hidden_size)
        self.tanh = tanh

    @property
    def query_weight(self) -> torch.Tensor:
        """W_q `[A, Q]`, for loops that compute this attention themselves (nmt.models.fast)."""
        return self.query_proj.weight

    @property
    def energy_vector(self) -> torch.Tensor:
        """v `[A]`, for loops that compute this attention themselves (nmt.models.fast)."""
        return self.energy.weight[0]

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)  # [B, S, A]

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> AttentionOutput:
        hidden = self.tanh(self.query_proj(query)[:, :, None, :] + keys[:, None, :, :])  # [B,T,S,A]
        return _attend(self.energy(hidden), values, mask)


class DotAttention(nn.Module):
    def __init__(
        self, query_size: int, key_size: int, hidden_size: int = 0, tanh: Activation = torch.tanh
    ) -> None:
        super().__init__()
        if query_size != key_size:
            raise ValueError(
                f"dot attention needs equal query and key sizes, got {query_size} and {key_size}"
            )

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return keys

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> AttentionOutput:
        return _attend(torch.bmm(query, keys.transpose(1, 2)), values, mask)


class GeneralAttention(nn.Module):
    def __init__(
        self, query_size: int, key_size: int, hidden_size: int = 0, tanh: Activation = torch.tanh
    ) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_size, query_size, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.key_proj(keys)  # [B, S, Q]: W k, computed once per sentence

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> AttentionOutput:
        return _attend(torch.bmm(query, keys.transpose(1, 2)), values, mask)


ATTENTIONS: dict[str, type[nn.Module]] = {
    "bahdanau": AdditiveAttention,
    "luong": GeneralAttention,
    "dot": DotAttention,
}

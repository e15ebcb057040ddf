"""Key-value memory: a differentiable dictionary.

A query that resembles key k_i returns (mostly) value v_i. The lookup is a softmax over query-key
similarities, so keys, values and the query can all be learned. Several hops re-read the memory
with the query updated by the previous read (end-to-end memory networks, Sukhbaatar et al. 2015;
key-value memory networks, Miller et al. 2016). Everything is batched: no loop over the batch or
the slots, only over hops.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
from torch import nn


class MemoryRead(NamedTuple):
    read: torch.Tensor  # [B, (T,) Dv] the last hop's weighted sum of values
    output: torch.Tensor  # [B, (T,) Dq] the query updated by every hop's read
    weights: torch.Tensor  # [B, (T,) hops, M] addressing weights of each hop (0 on masked slots)


class KeyValueMemory(nn.Module):
    """Reads values by query-key similarity, over `hops` hops.

    Keys `[B, M, Dk]` and values `[B, M, Dv]` are given per call, or, with `slots`, learned
    parameters shared by the whole batch. The query `[B, Dq]` or `[B, T, Dq]` (T queries at once,
    e.g. every decoder step) is projected to the key space (unless `project_query` is off, which
    needs Dq == Dk) and scored by scaled dot product or additively; `top_k` keeps only the k best
    slots per query. After each hop the query becomes query + W_hop(read) (query + read without
    `project_reads`, which needs Dv == Dq).
    """

    def __init__(
        self,
        query_size: int,
        key_size: int,
        value_size: int,
        addressing: Literal["dot", "additive"] = "dot",
        hops: int = 1,
        top_k: int | None = None,
        slots: int | None = None,
        project_query: bool = True,
        temperature: float = 1.0,
        project_reads: bool = True,
    ) -> None:
        super().__init__()
        if hops < 1 or (top_k is not None and top_k < 1) or temperature <= 0:
            raise ValueError(f"hops {hops} and top_k {top_k} must be >= 1, temperature > 0")
        if not project_query and query_size != key_size:
            raise ValueError(f"without a query projection the query size ({query_size}) must "
                             f"equal the key size ({key_size})")  # fmt: skip
        if not project_reads and query_size != value_size:
            raise ValueError(f"without read projections the query size ({query_size}) must "
                             f"equal the value size ({value_size})")  # fmt: skip
        self.addressing = addressing
        self.hops = hops
        self.top_k = top_k
        self.temperature = temperature
        self.query_projection = (
            nn.Linear(query_size, key_size, bias=False) if project_query else nn.Identity()
        )
        if addressing == "additive":
            self.key_layer = nn.Linear(key_size, key_size, bias=False)
            self.score_layer = nn.Linear(key_size, 1, bias=False)
        elif addressing != "dot":
            raise ValueError(f"addressing must be dot or additive, not {addressing!r}")
        self.hop_layers = nn.ModuleList(
            nn.Linear(value_size, query_size, bias=False) if project_reads else nn.Identity()
            for _ in range(hops)
        )
        self.slot_keys = self.slot_values = None
        if slots is not None:
            self.slot_keys = nn.Parameter(torch.randn(slots, key_size) / math.sqrt(key_size))
            self.slot_values = nn.Parameter(torch.randn(slots, value_size) / math.sqrt(value_size))

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor | None = None,
        values: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        linear: bool = False,
    ) -> MemoryRead:
        """Read the memory; `mask` `[B, M]` is True on present slots (absent ones get weight 0).
        `linear`: the raw scores as weights, without the softmax (end-to-end memory networks'
        linear start, for the first epochs of training)."""
        single = query.dim() == 2
        if single:
            query = query[:, None]  # [B, 1, Dq]
        if keys is None or values is None:
            if self.slot_keys is None:
                raise ValueError("give keys and values, or build the memory with learned slots")
            keys = self.slot_keys.expand(query.size(0), -1, -1)
            values = self.slot_values.expand(query.size(0), -1, -1)
        hop_weights = []
        for hop_layer in self.hop_layers:
            weights = self.address(query, keys, mask, linear)  # [B, T, M]
            read = weights @ values  # [B, T, Dv]
            query = query + hop_layer(read)
            hop_weights.append(weights)
        weights = torch.stack(hop_weights, dim=2)  # [B, T, hops, M]
        if single:
            return MemoryRead(read[:, 0], query[:, 0], weights[:, 0])
        return MemoryRead(read, query, weights)

    def address(
        self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None,
        linear: bool = False,
    ) -> torch.Tensor:  # fmt: skip
        """Addressing weights `[B, T, M]` of queries `[B, T, Dq]` over keys `[B, M, Dk]`."""
        projected = self.query_projection(query)  # [B, T, Dk]
        if self.addressing == "dot":
            scores = projected @ keys.transpose(1, 2) / math.sqrt(keys.size(-1))
        else:
            hidden = torch.tanh(projected[:, :, None] + self.key_layer(keys)[:, None])
            scores = self.score_layer(hidden).squeeze(-1)  # [B, T, M]
        return self.address_scores(scores, mask, linear).to(query.dtype)

    def address_scores(
        self, scores: torch.Tensor, mask: torch.Tensor | None, linear: bool = False
    ) -> torch.Tensor:
        """Similarity scores `[B, T, M]` -> addressing weights (float): temperature, the mask,
        top-k, then the softmax (or, `linear`, the scores themselves)."""
        scores = scores.float() / self.temperature
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        if self.top_k is not None and self.top_k < scores.size(-1):
            kth_best = scores.topk(self.top_k, dim=-1).values[..., -1:]
            scores = scores.masked_fill(scores < kth_best, float("-inf"))
        if linear:
            return scores.masked_fill(scores == float("-inf"), 0.0)
        # A query with no present slot reads nothing (softmax over all -inf gives NaN).
        return torch.softmax(scores, dim=-1).nan_to_num(0.0)


class SlotMemory(nn.Module):
    """Learned memory slots that a translation decoder consults each step ("slot memory"): the
    decoder state queries a KeyValueMemory of learned slots, and the read joins the source
    context by a gated sum (a learned sigmoid gate per dimension mixes context and read) or by
    concatenation."""

    def __init__(
        self,
        state_size: int,
        context_size: int,
        slots: int,
        combine: Literal["gate", "concat"] = "gate",
        addressing: Literal["dot", "additive"] = "dot",
        top_k: int | None = None,
    ) -> None:
        super().__init__()
        self.memory = KeyValueMemory(
            state_size, context_size, context_size, addressing, top_k=top_k, slots=slots
        )
        self.combine = combine
        if combine == "gate":
            self.gate = nn.Linear(state_size + 2 * context_size, context_size)
        self.output_size = context_size * (2 if combine == "concat" else 1)

    def forward(self, state: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """States `[B, T, H]` and attention contexts `[B, T, K]` -> `[B, T, output_size]`."""
        read = self.memory(state).read
        if self.combine == "concat":
            return torch.cat([context, read], dim=-1)
        gate = torch.sigmoid(self.gate(torch.cat([state, context, read], dim=-1)))
        return gate * context + (1 - gate) * read

"""Recurrent sequence tagger: token embedder -> stacked (bi)directional RNN -> tag scores,
decoded independently per token (softmax) or jointly with a linear-chain CRF (Viterbi).

Parts are small modules chosen by the tagging task's builder (nmt.tagging.model): a token
embedder (nmt.models.embedding), the recurrent layer, and one of two output layers with the same
interface (`loss`, `decode`).
"""

from __future__ import annotations

import torch
from torch import nn

from nmt.models.crf import LinearChainCRF
from nmt.models.embedding import TokenEmbedder
from nmt.models.recurrent import run_packed


class SoftmaxOutput(nn.Module):
    """Each token's tag on its own: cross-entropy training, argmax decoding."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def loss(self, scores: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summed loss over the real tokens."""
        return nn.functional.cross_entropy(
            scores[mask].float(), tags[mask], reduction="sum", label_smoothing=self.label_smoothing
        )

    def decode(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return scores.argmax(-1).masked_fill(~mask, 0)


class CrfOutput(nn.Module):
    """The sentence's tags jointly: CRF negative log-likelihood, Viterbi decoding."""

    def __init__(self, crf: LinearChainCRF) -> None:
        super().__init__()
        self.crf = crf

    def loss(self, scores: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return -self.crf.log_likelihood(scores, tags, mask).sum()

    def decode(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.crf.viterbi(scores, mask)[0]


class RecurrentTagger(nn.Module):
    """Token embedder -> dropout -> RNN -> dropout -> linear tag scores -> output layer.

    `scores` runs the network; `loss` and `decode` take its scores, so validation, which needs
    both, runs the network once."""

    def __init__(
        self, embedder: TokenEmbedder, rnn: nn.RNNBase, num_tags: int, output: nn.Module,
        dropout: nn.Module,
    ) -> None:  # fmt: skip
        super().__init__()
        self.embedder = embedder
        self.rnn = rnn
        self.dropout = dropout
        directions = 2 if rnn.bidirectional else 1
        self.scorer = nn.Linear(rnn.hidden_size * directions, num_tags)
        self.output = output

    def scores(self, words: torch.Tensor, chars: torch.Tensor, lengths: torch.Tensor):
        """Tag scores [B, T, K] of padded words [B, T] with their characters [B, T, C]."""
        embedded = self.dropout(self.embedder(words, chars))
        features, _ = run_packed(self.rnn, embedded, lengths)
        return self.scorer(self.dropout(features))

    def loss(self, scores: torch.Tensor, lengths: torch.Tensor, tags: torch.Tensor):
        """Summed training loss of `scores` (divide by the token count for a mean)."""
        return self.output.loss(scores, tags, _mask(lengths, scores))

    def decode(self, scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Predicted tag ids [B, T] from `scores`, 0 on padding."""
        return self.output.decode(scores, _mask(lengths, scores))


def _mask(lengths: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    positions = torch.arange(scores.size(1), device=scores.device)
    return positions[None, :] < lengths.to(scores.device)[:, None]

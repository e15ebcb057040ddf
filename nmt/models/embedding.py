"""Token embedders for models that read words: a word embedding and/or a character encoder
(a CNN or a BiLSTM over each word's characters, Ma & Hovy 2016; Lample et al. 2016), whose
outputs are concatenated. A model over subword pieces uses the word embedding alone."""

from __future__ import annotations

import torch
from torch import nn

from nmt.data.special import PAD_ID, UNK_ID
from nmt.models.recurrent import build_rnn, run_packed


class CharCNN(nn.Module):
    """Each word's characters -> embeddings -> width-3 convolution -> max over positions."""

    def __init__(self, num_chars: int, embedding_size: int, filters: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_chars, embedding_size, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(embedding_size, filters, kernel_size=3, padding=1)
        self.output_size = filters

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """chars [B, T, C] -> [B, T, filters]."""
        batch_size, length, width = chars.shape
        flat = chars.reshape(-1, width)  # [B*T, C]
        features = self.conv(self.embedding(flat).transpose(1, 2))  # [B*T, F, C]
        features = features.masked_fill((flat == PAD_ID)[:, None, :], float("-inf"))
        pooled = features.max(dim=2).values
        pooled = torch.where(torch.isinf(pooled), 0.0, pooled)  # padding words have no chars
        return pooled.view(batch_size, length, -1)


class CharLSTM(nn.Module):
    """Each word's characters -> BiLSTM; the word is the two directions' final states."""

    def __init__(self, num_chars: int, embedding_size: int, hidden_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_chars, embedding_size, padding_idx=PAD_ID)
        self.rnn = build_rnn("lstm", embedding_size, hidden_size, bidirectional=True)
        self.output_size = 2 * hidden_size

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """chars [B, T, C] -> [B, T, 2H]; only real words run through the LSTM."""
        batch_size, length, width = chars.shape
        flat = chars.reshape(-1, width)
        char_lengths = (flat != PAD_ID).sum(1)
        real = char_lengths > 0
        _, (hidden, _) = run_packed(self.rnn, self.embedding(flat[real]), char_lengths[real])
        words = hidden.new_zeros(flat.size(0), self.output_size)
        words[real] = torch.cat([hidden[0], hidden[1]], dim=-1)
        return words.view(batch_size, length, -1)


class TokenDropout(nn.Module):
    """Word dropout (Gal and Ghahramani 2016; Sennrich et al. 2016): while training, each input
    token becomes <unk> with probability `p`, so that no prediction can lean on one input word
    alone. Tokens in `kept_ids` (padding; a translator adds <s> and </s>) are never dropped."""

    def __init__(self, p: float = 0.0, kept_ids: tuple[int, ...] = (PAD_ID,)) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"word dropout must be in [0, 1), got {p}")
        self.p = p
        self.kept_ids = kept_ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return ids
        dropped = torch.rand(ids.shape, device=ids.device) < self.p
        for kept_id in self.kept_ids:
            dropped &= ids != kept_id
        return ids.masked_fill(dropped, UNK_ID)


class TokenEmbedder(nn.Module):
    """Concatenated word embedding and character encoding of each token."""

    def __init__(
        self,
        word_embedding: nn.Embedding | None,
        char_encoder: nn.Module | None,
        word_dropout: float,
    ) -> None:
        super().__init__()
        if word_embedding is None and char_encoder is None:
            raise ValueError("a tagger needs word embeddings, a character encoder, or both")
        self.word_embedding = word_embedding
        self.char_encoder = char_encoder
        self.word_dropout = TokenDropout(word_dropout)
        self.output_size = (0 if word_embedding is None else word_embedding.embedding_dim) + (
            0 if char_encoder is None else char_encoder.output_size
        )

    def forward(self, words: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
        parts = []
        if self.word_embedding is not None:
            parts.append(self.word_embedding(self.word_dropout(words)))
        if self.char_encoder is not None:
            parts.append(self.char_encoder(chars))
        return torch.cat(parts, dim=-1)

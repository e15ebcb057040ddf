"""Builds a RecurrentLanguageModel from an LmModelConfig and the vocabulary: the one place where
the language model's config chooses classes (and, by `model.custom_kernels`, the CPU dropout and
the single RNN steps of sampling)."""

from __future__ import annotations

from torch import nn

from nmt.data.special import PAD_ID
from nmt.lm.config import LmModelConfig
from nmt.lm.vocab import LmVocab
from nmt.models.fast import kernels
from nmt.models.language_model import RecurrentLanguageModel
from nmt.models.recurrent import build_rnn
from nmt.models.weight_drop import RecurrentWeightDropout


def build_language_model(config: LmModelConfig, vocab: LmVocab) -> RecurrentLanguageModel:
    embedding = nn.Embedding(vocab.size, config.embedding_size, padding_idx=PAD_ID)
    rnn = build_rnn(
        config.cell, config.embedding_size, config.hidden_size, config.layers, config.dropout
    )
    features = config.hidden_size
    projection: nn.Module = nn.Identity()
    if config.tie_embeddings and config.hidden_size != config.embedding_size:
        projection = nn.Linear(config.hidden_size, config.embedding_size)
        features = config.embedding_size
    output = nn.Linear(features, vocab.size)
    if config.tie_embeddings:
        output.weight = embedding.weight
    chosen = kernels(config.custom_kernels)
    return RecurrentLanguageModel(
        embedding, rnn, chosen.dropout(config.dropout), projection, output, chosen.rnn_step,
        RecurrentWeightDropout(config.weight_dropout),
    )  # fmt: skip

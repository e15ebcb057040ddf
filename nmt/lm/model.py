"""Builds a language model from an LmModelConfig and the vocabulary: the one place where the
language model's config chooses classes (a recurrent model, or with `model.cell=conv` a dilated
causal convolution; by `model.custom_kernels`, the CPU dropout and the single RNN steps of
sampling)."""

from __future__ import annotations

import logging

from torch import nn

from nmt.data.special import PAD_ID
from nmt.lm.config import LmModelConfig
from nmt.lm.vocab import LmVocab
from nmt.models.conv import DilatedCausalConv
from nmt.models.fast import kernels
from nmt.models.language_model import ConvLanguageModel, NextTokenModel, RecurrentLanguageModel
from nmt.models.recurrent import build_rnn
from nmt.models.weight_drop import RecurrentWeightDropout

logger = logging.getLogger(__name__)


def build_language_model(config: LmModelConfig, vocab: LmVocab) -> NextTokenModel:
    embedding = nn.Embedding(vocab.size, config.embedding_size, padding_idx=PAD_ID)
    features = config.hidden_size
    projection: nn.Module = nn.Identity()
    if config.tie_embeddings and config.hidden_size != config.embedding_size:
        projection = nn.Linear(config.hidden_size, config.embedding_size)
        features = config.embedding_size
    output = nn.Linear(features, vocab.size)
    if config.tie_embeddings:
        output.weight = embedding.weight
    chosen = kernels(config.custom_kernels)
    if config.cell == "conv":
        conv = DilatedCausalConv(
            config.embedding_size, config.hidden_size, config.conv_levels, config.kernel_size,
            gated=True, dropout=config.dropout,
        )  # fmt: skip
        logger.info("dilated causal conv: receptive field %d tokens", conv.receptive_field)
        return ConvLanguageModel(embedding, conv, chosen.dropout(config.dropout), projection,
                                 output)  # fmt: skip
    rnn = build_rnn(
        config.cell, config.embedding_size, config.hidden_size, config.layers, config.dropout
    )
    return RecurrentLanguageModel(
        embedding, rnn, chosen.dropout(config.dropout), projection, output, chosen.rnn_step,
        RecurrentWeightDropout(config.weight_dropout),
    )  # fmt: skip

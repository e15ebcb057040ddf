"""Builds a SequenceClassifier from a ClassifierModelConfig and the vocabulary: the one place
where the classifier's config chooses classes (the encoder: a recurrent layer or a dilated causal
convolution; by `model.custom_kernels`, the CPU dropout)."""

from __future__ import annotations

import logging

from torch import nn

from nmt.classify.config import ClassifierModelConfig
from nmt.classify.vocab import ClassifyVocab
from nmt.data.special import PAD_ID
from nmt.models.classifier import SequenceClassifier, run_causal_conv, run_recurrent
from nmt.models.conv import DilatedCausalConv
from nmt.models.embedding import CharCNN, CharLSTM, TokenEmbedder
from nmt.models.fast import kernels
from nmt.models.pooling import build_pooling
from nmt.models.recurrent import build_rnn

logger = logging.getLogger(__name__)


def build_classifier(config: ClassifierModelConfig, vocab: ClassifyVocab) -> SequenceClassifier:
    """The classifier a config describes, for a vocabulary's tokens and labels."""
    embedding = nn.Embedding(vocab.size, config.word_embedding_size, padding_idx=PAD_ID)
    char_encoder = None
    if config.char_embedding_size > 0 and vocab.units == "words":
        char_class = CharCNN if config.char_encoder == "cnn" else CharLSTM
        char_encoder = char_class(vocab.chars, config.char_embedding_size, config.char_hidden_size)
    embedder = TokenEmbedder(embedding, char_encoder, config.word_dropout)
    encoder: nn.Module
    if config.cell == "conv":
        encoder = DilatedCausalConv(embedder.output_size, config.hidden_size, config.conv_levels,
                                    config.kernel_size, dropout=config.dropout)  # fmt: skip
        logger.info("dilated causal conv: receptive field %d tokens", encoder.receptive_field)
        size, run = config.hidden_size, run_causal_conv
    else:
        encoder = build_rnn(
            config.cell, embedder.output_size, config.hidden_size, config.layers, config.dropout,
            config.bidirectional,
        )  # fmt: skip
        size, run = config.hidden_size * (2 if config.bidirectional else 1), run_recurrent
    pooling = build_pooling(config.pooling, size, config.attention_size)
    dropout = kernels(config.custom_kernels).dropout(config.dropout)
    return SequenceClassifier(embedder, encoder, size, pooling, len(vocab.labels), dropout, run)

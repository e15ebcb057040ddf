"""Builds a RecurrentTagger from a TaggerModelConfig and the vocabularies: the one place where
the tagger's config chooses classes (and, by `model.custom_kernels`, the CPU dropout)."""

from __future__ import annotations

from torch import nn

from nmt.data.special import PAD_ID
from nmt.models.crf import LinearChainCRF, bio_transition_constraints
from nmt.models.embedding import CharCNN, CharLSTM, TokenEmbedder
from nmt.models.fast import kernels
from nmt.models.recurrent import build_rnn
from nmt.models.tagger import CrfOutput, RecurrentTagger, SoftmaxOutput
from nmt.tagging.config import TaggerModelConfig
from nmt.tagging.vocab import TaggingVocab


def build_tagger(
    config: TaggerModelConfig, vocab: TaggingVocab, bio: bool, label_smoothing: float = 0.0
) -> RecurrentTagger:
    """The tagger a config describes; `bio` adds the BIO transition constraints to a CRF."""
    word_embedding = None
    if config.word_embedding_size > 0:
        word_embedding = nn.Embedding(
            len(vocab.words), config.word_embedding_size, padding_idx=PAD_ID
        )
    char_encoder = None
    if config.char_embedding_size > 0:
        char_class = CharCNN if config.char_encoder == "cnn" else CharLSTM
        char_encoder = char_class(
            len(vocab.chars), config.char_embedding_size, config.char_hidden_size
        )
    embedder = TokenEmbedder(word_embedding, char_encoder, config.word_dropout)
    rnn = build_rnn(
        config.cell, embedder.output_size, config.hidden_size, config.layers,
        config.dropout, config.bidirectional,
    )  # fmt: skip
    num_tags = len(vocab.tags)
    if config.crf:
        constraints = bio_transition_constraints(vocab.tags) if bio else (None, None)
        output: nn.Module = CrfOutput(LinearChainCRF(num_tags, *constraints))
    else:
        output = SoftmaxOutput(label_smoothing)
    dropout = kernels(config.custom_kernels).dropout(config.dropout)
    return RecurrentTagger(embedder, rnn, num_tags, output, dropout)

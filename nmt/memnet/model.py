"""Builds the memory-network reader from its config and vocabularies."""

from __future__ import annotations

from nmt.data.special import UNK_ID
from nmt.memnet.config import MemnetConfig
from nmt.memnet.vocab import StoryVocab
from nmt.models.memnet import MemoryNetworkReader
from nmt.models.query_reduction import QueryReductionReader

AnyReader = MemoryNetworkReader | QueryReductionReader  # the same forward and ReaderOutput


def build_reader(config: MemnetConfig, vocab: StoryVocab) -> AnyReader:
    """The reader `model.reader` names, sized for the vocabulary and answers."""
    model = config.model
    if model.reader == "query_reduction":
        return QueryReductionReader(
            len(vocab.words), len(vocab.answers), model.embedding_size, model.hops,
            model.dropout, model.vector_gates,
        )  # fmt: skip
    return MemoryNetworkReader(
        len(vocab.words), len(vocab.answers), model.embedding_size, model.hops,
        config.data.max_sentences, model.addressing, model.top_k, model.tying,
        [[i for i in vocab.ids(answer.replace(",", " ")) if i != UNK_ID]  # "yes": no story word
         for answer in vocab.answers],
        model.null_slot, model.scaled_scores,
    )  # fmt: skip

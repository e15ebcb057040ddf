"""Builds a Seq2Seq from a ModelConfig: the one place where config strings choose classes."""

from __future__ import annotations

from torch import nn

from nmt.config import ModelConfig
from nmt.data.tokenizer import PAD_ID
from nmt.errors import NmtError
from nmt.models.attention import ATTENTIONS
from nmt.models.decoder import AttentionDecoder, FixedContextDecoder
from nmt.models.encoder import Bridge, RecurrentEncoder
from nmt.models.memory import DecoderMemory
from nmt.models.recurrent import build_rnn
from nmt.models.seq2seq import Seq2Seq


def build_embedding(vocab_size: int, embedding_size: int) -> nn.Embedding:
    embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD_ID)
    nn.init.uniform_(embedding.weight, -0.1, 0.1)
    embedding.weight.data[PAD_ID].zero_()
    return embedding


def build_seq2seq(config: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    """Encoder, bridge, decoder (with or without attention) and output layer."""
    output_size = config.output_size or config.decoder_hidden_size
    if config.tie_embeddings:
        if config.output_size not in (None, config.embedding_size):
            raise NmtError(
                "model.tie_embeddings needs model.output_size equal to model.embedding_size "
                f"(got {config.output_size} and {config.embedding_size}); leave output_size unset"
            )
        output_size = config.embedding_size
    encoder = RecurrentEncoder(
        build_embedding(src_vocab_size, config.embedding_size),
        build_rnn(
            config.cell,
            config.embedding_size,
            config.encoder_hidden_size,
            config.encoder_layers,
            config.dropout,
            config.bidirectional,
        ),
        config.dropout,
    )
    bridge = Bridge(
        encoder.output_size,
        config.decoder_hidden_size,
        config.decoder_layers,
        lstm=config.cell == "lstm",
    )
    tgt_embedding = build_embedding(tgt_vocab_size, config.embedding_size)
    slot_memory = None
    if config.memory.slots > 0:
        slot_memory = DecoderMemory(
            config.decoder_hidden_size, encoder.output_size, config.memory.slots,
            config.memory.combine, config.memory.addressing, config.memory.top_k,
        )  # fmt: skip
    if config.attention == "none":
        decoder: nn.Module = FixedContextDecoder(
            tgt_embedding,
            _decoder_rnn(config, config.embedding_size + encoder.output_size),
            context_size=encoder.output_size,
            output_size=output_size,
            dropout=config.dropout,
            slot_memory=slot_memory,
        )
    else:
        feed_size = output_size if config.input_feeding else 0
        attention = _build_attention(config, encoder.output_size)
        decoder = AttentionDecoder(
            tgt_embedding,
            _decoder_rnn(config, config.embedding_size + feed_size),
            attention,
            memory_size=encoder.output_size,
            output_size=output_size,
            input_feeding=config.input_feeding,
            dropout=config.dropout,
            slot_memory=slot_memory,
        )
    generator = nn.Linear(output_size, tgt_vocab_size)
    if config.tie_embeddings:
        generator.weight = tgt_embedding.weight
    model = Seq2Seq(encoder, bridge, decoder, generator)
    if config.param_init is not None:
        initialize_uniform(model, config.param_init)
    return model


def initialize_uniform(model: nn.Module, bound: float) -> None:
    """Every parameter uniform in [-bound, bound] (Luong et al. 2015; OpenNMT's param_init), which
    learns faster early than PyTorch's fan-in defaults for these LSTMs; padding rows stay zero."""
    for parameter in model.parameters():
        nn.init.uniform_(parameter, -bound, bound)
    for module in model.modules():
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()


def _decoder_rnn(config: ModelConfig, input_size: int) -> nn.RNNBase:
    return build_rnn(
        config.cell, input_size, config.decoder_hidden_size, config.decoder_layers, config.dropout
    )


def _build_attention(config: ModelConfig, key_size: int) -> nn.Module:
    if config.attention == "dot" and key_size != config.decoder_hidden_size:
        raise NmtError(
            f"model.attention=dot needs the encoder output size ({key_size}: encoder_hidden_size "
            f"x directions) to equal model.decoder_hidden_size ({config.decoder_hidden_size}); "
            "change one of them or use attention=luong"
        )
    return ATTENTIONS[config.attention](
        config.decoder_hidden_size, key_size, config.attention_size or config.decoder_hidden_size
    )

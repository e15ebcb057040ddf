"""Builds a Seq2Seq from a ModelConfig: the one place where config strings choose classes, and
where the speed paths (nmt.models.fast) are chosen, once, by `model.custom_kernels`."""

from __future__ import annotations

from torch import nn

from nmt.data.special import PAD_ID
from nmt.errors import NmtError
from nmt.models.attention import ATTENTIONS
from nmt.models.decoder import AttentionDecoder, FixedContextDecoder, step_by_step
from nmt.models.encoder import Bridge, RecurrentEncoder
from nmt.models.fast import Kernels, choose_input_feeding, kernels
from nmt.models.glossary import GlossaryMemory
from nmt.models.memory import SlotMemory
from nmt.models.recurrent import build_rnn
from nmt.models.seq2seq import Seq2Seq
from nmt.models.weight_drop import RecurrentWeightDropout
from nmt.translation.config import ModelConfig


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
    chosen = kernels(config.custom_kernels)
    encoder = RecurrentEncoder(
        build_embedding(src_vocab_size, config.embedding_size),
        build_rnn(
            config.cell, config.embedding_size, config.encoder_hidden_size,
            config.encoder_layers, config.dropout, config.bidirectional,
        ),
        chosen.dropout(config.dropout),
        RecurrentWeightDropout(config.weight_dropout),
        chosen.run_packed,
    )  # fmt: skip
    bridge = Bridge(
        encoder.output_size,
        config.decoder_hidden_size,
        config.decoder_layers,
        lstm=config.cell == "lstm",
    )
    tgt_embedding = build_embedding(tgt_vocab_size, config.embedding_size)
    slot_memory = None
    if config.slot_memory.slots > 0:
        memory = config.slot_memory
        slot_memory = SlotMemory(
            config.decoder_hidden_size, encoder.output_size, memory.slots, memory.combine,
            memory.addressing, memory.top_k,
        )  # fmt: skip
    if config.attention == "none":
        decoder: nn.Module = FixedContextDecoder(
            tgt_embedding,
            _decoder_rnn(config, config.embedding_size + encoder.output_size),
            context_size=encoder.output_size,
            output_size=output_size,
            dropout=chosen.dropout(config.dropout),
            tanh=chosen.tanh,
            slot_memory=slot_memory,
            rnn_step=chosen.rnn_step,
            weight_dropout=RecurrentWeightDropout(config.weight_dropout),
        )
    else:
        decoder = _attention_decoder(
            config, tgt_embedding, encoder.output_size, output_size, slot_memory, chosen
        )
    generator = nn.Linear(output_size, tgt_vocab_size)
    if config.tie_embeddings:
        generator.weight = tgt_embedding.weight
    model = Seq2Seq(
        encoder, bridge, decoder, generator, word_dropout=config.word_dropout, rows=chosen.rows
    )
    if config.param_init is not None:
        initialize_uniform(model, config.param_init)
    if config.glossary_memory:
        # Built last, with its own initialisation: models without it draw the same weights.
        model.glossary = GlossaryMemory(
            tgt_embedding, encoder.output_size, output_size, config.glossary_memory_size,
            chosen.copy_scores, chosen.rows,
        )  # fmt: skip
    return model


def _attention_decoder(
    config: ModelConfig,
    tgt_embedding: nn.Embedding,
    key_size: int,
    output_size: int,
    slot_memory: SlotMemory | None,
    chosen: Kernels,
) -> AttentionDecoder:
    """The attention decoder, with the teacher-forced input-feeding loop chosen here once."""
    feed_size = output_size if config.input_feeding else 0
    # Attention first, then the recurrent layer: the order in which weights are drawn.
    attention = _build_attention(config, key_size, chosen)
    rnn = _decoder_rnn(config, config.embedding_size + feed_size)
    loop = None
    if config.input_feeding:
        fast_loop = choose_input_feeding(rnn, attention, slot_memory)
        loop = fast_loop if config.custom_kernels and fast_loop is not None else step_by_step
    return AttentionDecoder(
        tgt_embedding, rnn, attention, context_size=key_size, output_size=output_size,
        dropout=chosen.dropout(config.dropout), tanh=chosen.tanh, slot_memory=slot_memory,
        input_feeding=loop, rnn_step=chosen.rnn_step,
        weight_dropout=RecurrentWeightDropout(config.weight_dropout),
    )  # fmt: skip


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


def _build_attention(config: ModelConfig, key_size: int, chosen: Kernels) -> nn.Module:
    if config.attention == "dot" and key_size != config.decoder_hidden_size:
        raise NmtError(
            f"model.attention=dot needs the encoder output size ({key_size}: encoder_hidden_size "
            f"x directions) to equal model.decoder_hidden_size ({config.decoder_hidden_size}); "
            "change one of them or use attention=luong"
        )
    hidden_size = config.attention_size or config.decoder_hidden_size
    return ATTENTIONS[config.attention](
        config.decoder_hidden_size, key_size, hidden_size, tanh=chosen.tanh
    )

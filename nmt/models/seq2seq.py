"""Encoder-decoder composition and the narrow interface that search uses.

`encode` -> decoder state; `decode_step(prev_tokens, state)` -> log-probabilities, new state and
attention; `reorder(state, index)` follows surviving hypotheses. Training uses the teacher-forced
`forward`, which may take a faster path; a test pins it to T calls of `decode_step`.

With a glossary memory (nmt.models.glossary), `encode(..., glossary=slots)` returns a
`GlossaryState` around the decoder's state, and every step mixes copying from the sentence's
slots into the output distribution; `with_glossary(slots)` gives search a model whose `encode`
passes the slots along, so search itself does not change.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from nmt.data.special import BOS_ID, EOS_ID, PAD_ID
from nmt.data.term_slots import GlossarySlots
from nmt.models.embedding import TokenDropout
from nmt.models.encoder import Bridge, RecurrentEncoder
from nmt.models.fast.row_blocks import RowWise, plain_rows
from nmt.models.glossary import CopyWeights, GlossaryBank, GlossaryMemory, mix_copy


class SearchStep(NamedTuple):
    log_probs: torch.Tensor  # [B, V]
    state: NamedTuple
    attention: torch.Tensor | None  # [B, S]


class TargetDistributions(NamedTuple):
    """Teacher-forced distributions at N target positions (Seq2Seq.target_distributions)."""

    log_probs: torch.Tensor  # [N, V] float: the output layer's
    copy: CopyWeights | None  # the glossary memory's copy path (None without a glossary)

    def combined(self) -> torch.Tensor:
        """The model's log-probabilities `[N, V]`: with a glossary, the copy mixture."""
        return self.log_probs if self.copy is None else mix_copy(self.log_probs, *self.copy)


class GlossaryState(NamedTuple):
    """The decoder's state and the sentence's glossary memory (see nmt.models.glossary)."""

    decoder: NamedTuple
    bank: GlossaryBank
    due: torch.Tensor  # [B, M] bool: slots the next token may copy in order (GlossaryMemory)

    per_sentence = ("bank",)


class Seq2Seq(nn.Module):
    def __init__(
        self,
        encoder: RecurrentEncoder,
        bridge: Bridge,
        decoder: nn.Module,
        generator: nn.Linear,
        glossary: GlossaryMemory | None = None,
        word_dropout: float = 0.0,
        rows: RowWise = plain_rows,
    ) -> None:
        """`word_dropout`: the share of source and target input tokens that teacher-forced
        training replaces by <unk> (search never drops any); `rows` runs the output layer over
        the teacher-forced target's tokens (`plain_rows`, or nmt.models.fast's `in_row_blocks`)."""
        super().__init__()
        self.encoder = encoder
        self.bridge = bridge
        self.decoder = decoder
        self.generator = generator
        self.glossary = glossary
        self.word_dropout = TokenDropout(word_dropout, kept_ids=(PAD_ID, BOS_ID, EOS_ID))
        self.rows = rows

    def encode(
        self, src: torch.Tensor, src_lengths: torch.Tensor, glossary: GlossarySlots | None = None
    ) -> NamedTuple:
        """src `[B, S]` -> the decoder's initial state (a GlossaryState with `glossary` slots)."""
        encoded = self.encoder(src, src_lengths)
        hidden, cell = self.bridge(encoded)
        state = self.decoder.init_state(encoded, hidden, cell)
        if glossary is None:
            return state
        if self.glossary is None:
            raise ValueError("this model has no glossary memory (model.glossary_memory)")
        bank = self.glossary.prepare(encoded.outputs, glossary)
        return GlossaryState(state, bank, bank.first)

    def with_glossary(self, slots: GlossarySlots | None) -> Seq2Seq | GlossaryBound:
        """The model as search sees it when every sentence brings its glossary slots."""
        return self if slots is None else GlossaryBound(self, slots)

    def target_distributions(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt_in: torch.Tensor,
        positions: torch.Tensor,
        glossary: GlossarySlots | None = None,
    ) -> TargetDistributions:
        """Teacher-forced distributions at the N True `positions` `[B, T]` of the target (only
        those go through the output layer, the largest matrix product), in their parts: the
        output layer's log-probabilities and, with a glossary, the copy path's weights, so that
        a loss can train both and need not build the mixture over the whole vocabulary."""
        state = self.encode(self.word_dropout(src), src_lengths, glossary)
        if glossary is None:
            features = self.decoder(self.word_dropout(tgt_in), state).features
            logits = self.rows(self.generator, features[positions])
            return TargetDistributions(torch.log_softmax(logits.float(), dim=-1), None)
        # The glossary follows the true target pieces; only the decoder's inputs are dropped.
        decoded = self.decoder(self.word_dropout(tgt_in), state.decoder)
        features = decoded.features  # [B, T, O]
        logits = self.rows(self.generator, features[positions])
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        follows = self.glossary.follows_over_time(tgt_in, state.bank)
        weights, gate = self.glossary.copy(
            features, tgt_in, follows, state.bank, decoded.attention
        )
        rows = positions.nonzero()[:, 0]
        pieces = state.bank.pieces.index_select(0, rows)
        return TargetDistributions(
            log_probs, CopyWeights(weights[positions], gate[positions], pieces)
        )

    def features(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced output features `[B, T, O]`, before the output layer (so that a loss can
        project only the non-padding positions)."""
        state = self.encode(self.word_dropout(src), src_lengths)
        return self.decoder(self.word_dropout(tgt_in), state).features

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced logits `[B, T, V]`."""
        return self.generator(self.features(src, src_lengths, tgt_in))

    def decode_step(self, prev_tokens: torch.Tensor, state: NamedTuple) -> SearchStep:
        """prev_tokens `[B]` -> log-probabilities `[B, V]` of the next token."""
        if not isinstance(state, GlossaryState):
            step = self.decoder.step(prev_tokens, state)
            log_probs = torch.log_softmax(self.generator(step.features).float(), dim=-1)
            return SearchStep(log_probs, step.state, step.attention)
        step = self.decoder.step(prev_tokens, state.decoder)
        log_probs = torch.log_softmax(self.generator(step.features).float(), dim=-1)
        bank = state.bank
        follows = self.glossary.follows(prev_tokens, state.due, bank)
        attention = None if step.attention is None else step.attention[:, None]
        weights, gate = self.glossary.copy(
            step.features[:, None], prev_tokens[:, None], follows[:, None], bank, attention
        )
        log_probs = mix_copy(log_probs, weights[:, 0], gate[:, 0], bank.pieces)
        new_state = GlossaryState(step.state, bank, bank.first | follows)
        return SearchStep(log_probs, new_state, step.attention)

    @staticmethod
    def reorder(
        state: NamedTuple, index: torch.Tensor, within_sentences: bool = False
    ) -> NamedTuple:
        """Select batch entries `index` `[B']` of every tensor in the state.

        within_sentences: every row moves only among the beams of its own sentence, so fields the
        state lists in `per_sentence` (the same for all beams of a sentence: encoder outputs,
        attention keys, mask) are already right and are not copied.
        """
        keep = getattr(state, "per_sentence", ()) if within_sentences else ()
        return type(state)(
            *(
                field
                if name in keep or field is None
                else field.index_select(0, index)
                if isinstance(field, torch.Tensor)
                else Seq2Seq.reorder(field, index, within_sentences)
                if hasattr(field, "_fields")
                else field
                for name, field in zip(state._fields, state)
            )
        )


class GlossaryBound:
    """A Seq2Seq whose `encode` reads the given glossary slots: what search needs when every
    sentence of the batch brings its own memory (search only calls encode, decode_step and
    reorder)."""

    def __init__(self, model: Seq2Seq, slots: GlossarySlots) -> None:
        self.model = model
        self.slots = slots
        self.decode_step = model.decode_step
        self.reorder = model.reorder

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> NamedTuple:
        return self.model.encode(src, src_lengths, self.slots)

"""Several translation models searched as one: at every step each model scores the next token from
its own state, and the ensemble's log-probabilities are the models' log-probabilities averaged
(a product of the models' distributions, renormalised). Search sees one model with the usual
encode / decode_step / reorder interface; the models must share the target vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from nmt.data.term_slots import GlossarySlots
from nmt.models.seq2seq import SearchStep, Seq2Seq


class EnsembleState(NamedTuple):
    states: tuple  # one state per model, in the ensemble's order


class Ensemble(nn.Module):
    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(models)
        self._slots: GlossarySlots | None = None

    @property
    def glossary(self) -> object | None:
        """Something when every model has a glossary memory (what callers check)."""
        memories = [getattr(model, "glossary", None) for model in self.members]
        return memories[0] if all(memory is not None for memory in memories) else None

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> EnsembleState:
        return EnsembleState(tuple(
            model.encode(src, src_lengths, self._slots) if self._slots is not None
            else model.encode(src, src_lengths) for model in self.members
        ))  # fmt: skip

    def decode_step(self, prev_tokens: torch.Tensor, state: EnsembleState) -> SearchStep:
        steps = [model.decode_step(prev_tokens, s) for model, s in zip(self.members, state.states)]
        states = EnsembleState(tuple(step.state for step in steps))
        if len(steps) == 1:  # exactly the model
            return SearchStep(steps[0].log_probs, states, steps[0].attention)
        mean = torch.stack([step.log_probs for step in steps]).mean(dim=0)
        return SearchStep(torch.log_softmax(mean, dim=-1), states, steps[0].attention)

    def reorder(
        self, state: EnsembleState, index: torch.Tensor, within_sentences: bool = False
    ) -> EnsembleState:
        return EnsembleState(tuple(
            Seq2Seq.reorder(s, index, within_sentences) for s in state.states
        ))  # fmt: skip

    def with_glossary(self, slots: GlossarySlots | None) -> Ensemble:
        """The ensemble whose models all read `slots` (each must have a glossary memory)."""
        bound = Ensemble(list(self.members))
        bound._slots = slots
        return bound

"""Translating with a trained model: a checkpoint directory in, detokenized translations out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from nmt.data.batching import length_batches
from nmt.data.special import PAD_ID
from nmt.data.term_slots import GlossarySlots, collate_slots
from nmt.errors import NmtError
from nmt.models.ensemble import Ensemble
from nmt.models.quantize import quantize_dynamic_int8
from nmt.search import Hypothesis, SearchOptions, search
from nmt.translation.batch import pad_sources
from nmt.translation.glossary import Entry, Glossary, glossary_entries
from nmt.translation.run import LoadedModel, load_model_dir

logger = logging.getLogger(__name__)

MAX_INPUT_TOKENS = 250  # longer inputs are cut (with a warning) rather than exhausting memory


class Translation(NamedTuple):
    """One output hypothesis for one input sentence, with what reports need."""

    text: str  # detokenized
    score: float  # length-normalised model score (what the n-best list is ranked by)
    log_prob: float  # sum of token log-probabilities
    src_pieces: list[str]  # source subwords the model read (EOS included)
    tgt_pieces: list[str]  # output subwords (EOS included when produced)
    attention: torch.Tensor | None  # [len(tgt_pieces), len(src_pieces)] for attentional models


class Translator:
    """Translates lists of sentences in batches of similar length, returning them in input order."""

    def __init__(
        self, loaded: LoadedModel, device: str | torch.device = "cpu", quantize: bool = False
    ) -> None:
        """quantize: dynamic int8 linear and recurrent layers (CPU only, nmt.models.quantize)."""
        self.device = torch.device(device)
        self.model = loaded.model.to(self.device).eval()
        if quantize:
            self.model = quantize_dynamic_int8(self.model, self.device)
        self.tokenizer = loaded.tokenizer
        self.config = loaded.config
        self.metadata = loaded.metadata

    @classmethod
    def load(
        cls,
        run_dir: str | Path | Sequence[str | Path],
        device: str | torch.device = "cpu",
        quantize: bool = False,
    ) -> Translator:
        """One checkpoint directory, or several: an ensemble (nmt.models.ensemble) of models
        that share their tokenizer, translating with their averaged log-probabilities."""
        if isinstance(run_dir, (str, Path)):
            return cls(load_model_dir(run_dir, device), device, quantize)
        loaded = [load_model_dir(path, device) for path in run_dir]
        if not loaded:
            raise NmtError("give at least one model directory")
        first = loaded[0].tokenizer
        for path, other in zip(run_dir[1:], loaded[1:]):
            for side in ("src_model", "tgt_model"):
                if (getattr(other.tokenizer, side).serialized_model_proto()
                        != getattr(first, side).serialized_model_proto()):  # fmt: skip
                    raise NmtError(
                        f"{path}: its {side[:3]} vocabulary differs from {run_dir[0]}'s; an "
                        "ensemble needs models trained with one tokenizer"
                    )
        ensemble = Ensemble([model.model for model in loaded])
        return cls(loaded[0]._replace(model=ensemble), device, quantize)

    def translate(
        self,
        sentences: Sequence[str],
        options: SearchOptions | None = None,
        batch_size: int = 64,
        glossary: Glossary | None = None,
    ) -> list[str]:
        """One translation per sentence; an empty (or blank) sentence gives an empty line."""
        found = self.translate_nbest(sentences, options, batch_size, glossary=glossary)
        return [hypotheses[0].text if hypotheses else "" for hypotheses in found]

    def translate_nbest(
        self,
        sentences: Sequence[str],
        options: SearchOptions | None = None,
        batch_size: int = 64,
        batch_tokens: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        first_line: int = 1,
        glossary: Glossary | None = None,
    ) -> list[list[Translation]]:
        """`options.n_best` hypotheses per sentence, best first; [] for a blank sentence.

        Sentences are sorted by length and batched (at most batch_size sentences and, if given,
        batch_tokens padded source tokens), then returned in input order. on_batch(n) is told
        after each batch how many sentences it held (for progress bars); warnings number the
        sentences from `first_line` (the input line of the first one). With a `glossary` (a
        model with a glossary memory only), each sentence's matched entries are its memory.
        """
        options = options or SearchOptions()
        results: list[list[Translation]] = [[] for _ in sentences]
        ids = self._encode(sentences, first_line)
        entries = self._glossary_entries(glossary, sentences)
        for chunk in length_batches(ids, batch_size, batch_tokens):
            src, src_lengths = self._pad(ids, chunk)
            model = self.model
            if any(entries[i] for i in chunk):
                slots = collate_slots([entries[i] for i in chunk], src.size(1), PAD_ID)
                model = self.model.with_glossary(GlossarySlots(*(t.to(self.device) for t in slots)))
            found = search(model, src, src_lengths, options)
            for i, hypotheses in zip(chunk, found):
                results[i] = [self._describe(ids[i], h) for h in hypotheses]
            if on_batch is not None:
                on_batch(len(chunk))
        return results

    @property
    def has_glossary_memory(self) -> bool:
        return getattr(self.model, "glossary", None) is not None

    def _glossary_entries(
        self, glossary: Glossary | None, sentences: Sequence[str]
    ) -> list[list[Entry]]:
        if glossary is None or len(glossary) == 0:
            return [[] for _ in sentences]
        if not self.has_glossary_memory:
            raise NmtError(
                "this model has no glossary memory, so it cannot follow a glossary: train one "
                "with model.glossary_memory=true data.term_dictionary=FILE (nmt translate align "
                "makes the file); nmt translate evaluate --glossary reports any model's term use"
            )
        return glossary_entries(glossary, sentences, self.tokenizer, MAX_INPUT_TOKENS - 1)

    def _encode(self, sentences: Sequence[str], first_line: int = 1) -> list[list[int]]:
        """Source ids; blank sentences get none, over-long ones are cut with a warning."""
        ids = self.tokenizer.encode_src([s.strip() for s in sentences])
        for number, row in enumerate(ids, start=first_line):
            if not sentences[number - first_line].strip():
                row.clear()
            elif len(row) > MAX_INPUT_TOKENS:
                logger.warning(
                    "input line %d has %d subword tokens; translating its first %d",
                    number, len(row), MAX_INPUT_TOKENS,
                )  # fmt: skip
                row[MAX_INPUT_TOKENS - 1 :] = [row[-1]]  # keep the final EOS
        return ids

    def _pad(self, ids: list[list[int]], chunk: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        src, src_lengths = pad_sources([ids[i] for i in chunk])
        return src.to(self.device), src_lengths.to(self.device)

    def _describe(self, src_ids: list[int], hypothesis: Hypothesis) -> Translation:
        model = self.tokenizer.tgt_model
        return Translation(
            text=self.tokenizer.decode_tgt([hypothesis.tokens])[0],
            score=hypothesis.score,
            log_prob=hypothesis.log_prob,
            src_pieces=[self.tokenizer.src_model.id_to_piece(i) for i in src_ids],
            tgt_pieces=[model.id_to_piece(i) for i in hypothesis.tokens],
            attention=hypothesis.attention,
        )

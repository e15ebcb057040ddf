"""Translating with a trained model: a checkpoint directory in, detokenized translations out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from nmt.data.batching import length_batches
from nmt.models.quantize import quantize_dynamic_int8
from nmt.search import Hypothesis, SearchOptions, search
from nmt.translation.batch import pad_sources
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
        cls, run_dir: str | Path, device: str | torch.device = "cpu", quantize: bool = False
    ) -> Translator:
        return cls(load_model_dir(run_dir, device), device, quantize)

    def translate(
        self, sentences: Sequence[str], options: SearchOptions | None = None, batch_size: int = 64
    ) -> list[str]:
        """One translation per sentence; an empty (or blank) sentence gives an empty line."""
        found = self.translate_nbest(sentences, options, batch_size)
        return [hypotheses[0].text if hypotheses else "" for hypotheses in found]

    def translate_nbest(
        self,
        sentences: Sequence[str],
        options: SearchOptions | None = None,
        batch_size: int = 64,
        batch_tokens: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        first_line: int = 1,
    ) -> list[list[Translation]]:
        """`options.n_best` hypotheses per sentence, best first; [] for a blank sentence.

        Sentences are sorted by length and batched (at most batch_size sentences and, if given,
        batch_tokens padded source tokens), then returned in input order. on_batch(n) is told
        after each batch how many sentences it held (for progress bars); warnings number the
        sentences from `first_line` (the input line of the first one).
        """
        options = options or SearchOptions()
        results: list[list[Translation]] = [[] for _ in sentences]
        ids = self._encode(sentences, first_line)
        for chunk in length_batches(ids, batch_size, batch_tokens):
            src, src_lengths = self._pad(ids, chunk)
            found = search(self.model, src, src_lengths, options)
            for i, hypotheses in zip(chunk, found):
                results[i] = [self._describe(ids[i], h) for h in hypotheses]
            if on_batch is not None:
                on_batch(len(chunk))
        return results

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

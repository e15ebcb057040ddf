"""Translator: a checkpoint directory in, detokenized translations out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from nmt.checkpoint import LoadedModel, load_model_dir
from nmt.data.tokenizer import BOS_ID, EOS_ID, PAD_ID
from nmt.search import greedy_search


class Translator:
    """Translates lists of sentences, batched by length, in the order given."""

    def __init__(self, loaded: LoadedModel, device: str | torch.device = "cpu") -> None:
        self.model = loaded.model.to(device).eval()
        self.tokenizer = loaded.tokenizer
        self.config = loaded.config
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str | torch.device = "cpu") -> Translator:
        return cls(load_model_dir(run_dir, device), device)

    def translate(self, sentences: Sequence[str], batch_size: int = 64) -> list[str]:
        """One translation per sentence; an empty (or blank) sentence gives an empty line."""
        outputs = [""] * len(sentences)
        ids = self.tokenizer.encode_src([s.strip() for s in sentences])
        todo = sorted((i for i, s in enumerate(sentences) if s.strip()), key=lambda i: len(ids[i]))
        trainer = self.config.trainer
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            src_lengths = torch.tensor([len(ids[i]) for i in chunk])
            src = torch.full((len(chunk), int(src_lengths.max())), PAD_ID, dtype=torch.long)
            for row, i in enumerate(chunk):
                src[row, : len(ids[i])] = torch.tensor(ids[i])
            found = greedy_search(
                self.model,
                src.to(self.device),
                src_lengths.to(self.device),
                BOS_ID,
                EOS_ID,
                PAD_ID,
                trainer.bleu_max_length_a,
                trainer.bleu_max_length_b,
            )
            for i, text in zip(chunk, self.tokenizer.decode_tgt(found.tokens.tolist())):
                outputs[i] = text
        return outputs

"""Classifying with a trained model: texts in, one label each (with the probability of every
label, and the pooling's weights where it has them) out, in input order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import torch

from nmt.classify.batch import collate_texts
from nmt.classify.run import LoadedClassifier, load_classifier_dir
from nmt.data.batching import length_batches


class Prediction(NamedTuple):
    label: str
    probabilities: list[float]  # in the order of the model's labels
    tokens: list[str]  # what the model read
    weights: list[float] | None  # the attention pooling's weight on each token


class Classifier:
    """A loaded classifier; `classify` keeps the input order; empty texts get None."""

    def __init__(self, loaded: LoadedClassifier, device: str | torch.device = "cpu") -> None:
        self.model = loaded.model
        self.vocab = loaded.vocab
        self.config = loaded.config
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> Classifier:
        return cls(load_classifier_dir(run_dir, device), device)

    @property
    def labels(self) -> list[str]:
        return self.vocab.labels

    @torch.inference_mode()
    def classify(
        self, texts: Sequence[str], batch_size: int = 64, batch_tokens: int = 8000
    ) -> list[Prediction | None]:
        """A prediction per text, in length-sorted batches; None for an empty text."""
        max_length = self.config.data.max_length
        encoded = [self.vocab.encode(text, max_length) if text.strip() else None for text in texts]
        ids = [e.token_ids if e is not None else [] for e in encoded]
        results: list[Prediction | None] = [None] * len(texts)
        for chunk in length_batches(ids, batch_size, batch_tokens):
            batch = collate_texts([{"token_ids": ids[i], "char_ids": encoded[i].char_ids}
                                  for i in chunk])  # fmt: skip
            chars = batch.chars.to(self.device) if batch.chars is not None else None
            output = self.model(batch.tokens.to(self.device), chars, batch.lengths)
            probabilities = torch.softmax(output.logits.float(), dim=-1).tolist()
            for row, i in enumerate(chunk):
                weights = None
                if output.weights is not None:
                    weights = output.weights[row, : len(ids[i])].tolist()
                best = max(range(len(self.labels)), key=probabilities[row].__getitem__)
                results[i] = Prediction(
                    self.labels[best], probabilities[row], encoded[i].tokens, weights
                )
        return results

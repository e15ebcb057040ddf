"""Generating with a trained language model: a prompt in, samples out, as they are drawn
(temperature, top-k, nucleus; nmt.search.sample), in stream mode as a continuation of the text
and in sentence mode as the rest of a line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from nmt.lm.run import LoadedLanguageModel, load_language_model_dir
from nmt.search import SamplingOptions, sample


class Sampler:
    """A loaded language model that writes text."""

    def __init__(self, loaded: LoadedLanguageModel, device: str | torch.device = "cpu") -> None:
        self.model = loaded.model
        self.vocab = loaded.vocab
        self.config = loaded.config
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu", quantize: bool = False) -> Sampler:
        """quantize: int8 weights (CPU), about 1.6 times the characters per second."""
        return cls(load_language_model_dir(run_dir, device, quantize), device)

    @torch.inference_mode()
    def stream(
        self, prompt: str, options: SamplingOptions, count: int = 1, seed: int | None = None
    ) -> Iterator[list[str]]:
        """Text drawn after `prompt`, `count` samples side by side: each step yields the new text
        of every sample (a character, or what a piece adds), so it can be shown as it comes.
        A sentence-mode model stops a sample at the end of its line."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed(seed if seed is not None else torch.seed())
        separator = self.vocab.separator_id
        context = [separator, *self.vocab.encode(prompt)]
        tokens = torch.tensor([context] * count, device=self.device)
        state = self.model.initial_state(count, self.device)
        if len(context) > 1:
            _, state = self.model(tokens[:, :-1], state)
        sentences = self.config.data.mode == "sentences"
        characters = self.vocab.units == "chars"
        # Pieces are decoded with the prompt before them, so the first one's space is right.
        drawn = [context[1:] for _ in range(count)]
        shown = [self.vocab.decode(context[1:])] * count
        done = [False] * count
        for step in sample(self.model, state, tokens[:, -1], options, generator,
                           separator if sentences else None):  # fmt: skip
            pieces = []
            for row, token in enumerate(step.tolist()):
                done[row] = done[row] or (sentences and token == separator)
                if done[row]:
                    pieces.append("")
                elif characters:  # a character's text does not depend on what came before
                    pieces.append(self.vocab.decode([token]))
                else:  # a piece's may (a word-initial piece adds a space only after a word)
                    drawn[row].append(token)
                    text = self.vocab.decode(drawn[row])
                    pieces.append(text[len(shown[row]) :])
                    shown[row] = text
            yield pieces

    def complete(
        self, prompt: str, options: SamplingOptions, count: int = 1, seed: int | None = None
    ) -> list[str]:
        """The `count` samples after `prompt`, whole."""
        texts = [""] * count
        for pieces in self.stream(prompt, options, count, seed):
            texts = [text + piece for text, piece in zip(texts, pieces)]
        return texts

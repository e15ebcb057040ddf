"""A classifier's vocabulary: its labels, and how a text becomes token ids: words split at
whitespace (with their characters; nmt.data.words) or sentencepiece pieces (nmt.data.pieces).

Saved in the run directory as vocab.json (labels, units, and the word lists) and, for pieces,
pieces.model, so a classifier needs nothing else to run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import sentencepiece as spm

from nmt.data.pieces import load_pieces, train_pieces, write_pieces
from nmt.data.words import WordVocab
from nmt.engine.rundir import write_json
from nmt.errors import NmtError

VOCAB_FILE = "vocab.json"
PIECES_NAME = "pieces"  # RUN/pieces.model (and the readable pieces.vocab)


class Encoded(NamedTuple):
    tokens: list[str]  # what the model reads, for reports
    token_ids: list[int]
    char_ids: list[list[int]] | None  # words only


class ClassifyVocab:
    """Labels, and either a WordVocab (units "words") or a sentencepiece model ("pieces")."""

    def __init__(
        self, labels: Sequence[str], words: WordVocab | None = None,
        pieces: spm.SentencePieceProcessor | None = None,
    ) -> None:  # fmt: skip
        if (words is None) == (pieces is None):
            raise ValueError("a classifier vocabulary has words or pieces, not both or neither")
        self.labels = list(labels)
        self.words = words
        self.pieces = pieces
        self._label_index = {label: i for i, label in enumerate(self.labels)}

    @property
    def units(self) -> str:
        return "words" if self.words is not None else "pieces"

    @property
    def size(self) -> int:
        """How many token ids there are (the embedding's rows)."""
        return len(self.words.words) if self.words is not None else self.pieces.get_piece_size()

    @property
    def chars(self) -> int:
        return len(self.words.chars) if self.words is not None else 0

    @classmethod
    def build(
        cls, texts: Iterable[str], labels: Iterable[str], units: str, *, lowercase_words: bool,
        min_word_count: int, max_word_chars: int, vocab_size: int, seed: int = 0,
    ) -> ClassifyVocab:  # fmt: skip
        """The vocabulary of training texts and every label seen (sorted)."""
        label_list = sorted(set(labels))
        if units == "words":
            words = WordVocab.build(
                (text.split() for text in texts), min_word_count, lowercase_words, max_word_chars
            )
            return cls(label_list, words=words)
        spm.set_random_generator_seed(seed)
        return cls(label_list, pieces=train_pieces(texts, {"vocab_size": vocab_size}))

    def encode(self, text: str, max_length: int | None = None) -> Encoded:
        if self.words is not None:
            tokens = text.split()[:max_length]
            return Encoded(tokens, self.words.word_ids(tokens), self.words.char_ids(tokens))
        ids = self.pieces.encode(text, out_type=int)[:max_length]
        return Encoded([self.pieces.id_to_piece(i) for i in ids], ids, None)

    def label_id(self, label: str, where: str = "") -> int:
        if label not in self._label_index:
            raise NmtError(f"{where + ': ' if where else ''}label {label!r} is not one the model "
                           f"knows ({', '.join(self.labels)})")  # fmt: skip
        return self._label_index[label]

    def save(self, run_dir: Path) -> None:
        data: dict = {"labels": self.labels, "units": self.units}
        if self.words is not None:
            data["words"] = asdict(self.words)
        else:
            write_pieces(self.pieces, Path(run_dir) / PIECES_NAME)
        write_json(Path(run_dir) / VOCAB_FILE, data)

    @classmethod
    def load(cls, run_dir: Path) -> ClassifyVocab:
        path = Path(run_dir) / VOCAB_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise NmtError(f"{path}: not a readable vocabulary ({error})") from None
        if data.get("units") == "words":
            return cls(data["labels"], words=WordVocab(**data["words"]))
        return cls(data["labels"], pieces=load_pieces(Path(run_dir) / f"{PIECES_NAME}.model"))

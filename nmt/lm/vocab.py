"""A language model's vocabulary: the characters of the training text, or sentencepiece pieces
trained on it; either way nmt's special ids come first. Lines are separated by a token of their
own (the newline character, or EOS for pieces), which the model learns to predict like any other.

Saved in the run directory as vocab.json (and, for pieces, pieces.model).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencepiece as spm

from nmt.data.pieces import load_pieces, train_pieces, write_pieces
from nmt.data.special import BOS, EOS, EOS_ID, PAD, UNK, UNK_ID
from nmt.engine.rundir import write_json
from nmt.errors import NmtError

VOCAB_FILE = "vocab.json"
PIECES_NAME = "pieces"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0-3 in a character vocabulary too


class LmVocab:
    """Token ids of text: characters (`chars`) or sentencepiece pieces (`pieces`)."""

    def __init__(
        self, chars: Sequence[str] | None = None, pieces: spm.SentencePieceProcessor | None = None
    ) -> None:
        if (chars is None) == (pieces is None):
            raise ValueError("a language model's vocabulary has characters or pieces")
        self.chars = None if chars is None else list(chars)
        self.pieces = pieces
        if self.chars is not None:
            self._char_index = {c: i for i, c in enumerate(self.chars, start=len(SPECIALS))}

    @property
    def units(self) -> str:
        return "chars" if self.chars is not None else "pieces"

    @property
    def size(self) -> int:
        if self.chars is not None:
            return len(SPECIALS) + len(self.chars)
        return self.pieces.get_piece_size()

    @property
    def separator_id(self) -> int:
        """The token between lines: the newline character, or EOS for pieces."""
        return self._char_index["\n"] if self.chars is not None else EOS_ID

    @classmethod
    def build(
        cls, lines: Iterable[str], units: str, vocab_size: int, seed: int = 0
    ) -> LmVocab:
        if units == "chars":
            return cls(chars=sorted({c for line in lines for c in line} | {"\n"}))
        spm.set_random_generator_seed(seed)
        return cls(pieces=train_pieces(lines, {"vocab_size": vocab_size}))

    def encode(self, text: str) -> list[int]:
        """Ids of one line (no separator)."""
        if self.chars is not None:
            return [self._char_index.get(c, UNK_ID) for c in text]
        return self.pieces.encode(text, out_type=int)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ids; separators become newlines."""
        if self.chars is not None:
            size = len(SPECIALS)
            return "".join(self.chars[i - size] if i >= size else "" for i in ids)
        lines, line = [], []
        for i in ids:
            if i == EOS_ID:
                lines.append(self.pieces.decode(line))
                line = []
            else:
                line.append(i)
        return "\n".join([*lines, self.pieces.decode(line)])

    def save(self, run_dir: Path) -> None:
        if self.chars is not None:
            data = {"units": "chars", "chars": self.chars}
        else:
            write_pieces(self.pieces, Path(run_dir) / PIECES_NAME)
            data = {"units": "pieces"}
        write_json(Path(run_dir) / VOCAB_FILE, data)

    @classmethod
    def load(cls, run_dir: Path) -> LmVocab:
        path = Path(run_dir) / VOCAB_FILE
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise NmtError(f"{path}: not a readable vocabulary ({error})") from None
        if data.get("units") == "chars":
            return cls(chars=data["chars"])
        return cls(pieces=load_pieces(Path(run_dir) / f"{PIECES_NAME}.model"))

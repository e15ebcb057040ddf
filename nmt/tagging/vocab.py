"""Vocabularies of a tagger: words, characters and tags, built from the training split.

Saved as one JSON file in the checkpoint directory, so a tagger needs nothing else to run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from nmt.data.special import PAD, UNK, UNK_ID
from nmt.engine.rundir import write_json
from nmt.errors import NmtError


@dataclass
class TaggingVocab:
    """Index <-> string maps. Words and characters start with <pad>, <unk>; tags have neither."""

    words: list[str]
    chars: list[str]
    tags: list[str]
    lowercase_words: bool = True
    max_word_chars: int = 30

    def __post_init__(self) -> None:
        self._word_index = {word: i for i, word in enumerate(self.words)}
        self._char_index = {char: i for i, char in enumerate(self.chars)}
        self._tag_index = {tag: i for i, tag in enumerate(self.tags)}

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        tag_sequences: Iterable[Sequence[str]],
        min_word_count: int = 1,
        lowercase_words: bool = True,
        max_word_chars: int = 30,
    ) -> TaggingVocab:
        """Vocabularies of training sentences; words seen fewer than min_word_count times and
        characters seen once are left to <unk>, so the model meets <unk> in training."""
        word_counts: Counter[str] = Counter()
        char_counts: Counter[str] = Counter()
        for tokens in sentences:
            word_counts.update(token.lower() if lowercase_words else token for token in tokens)
            for token in tokens:
                char_counts.update(token[:max_word_chars])
        tags = sorted({tag for sequence in tag_sequences for tag in sequence})
        words = [w for w, n in sorted(word_counts.items()) if n >= min_word_count]
        chars = [c for c, n in sorted(char_counts.items()) if n >= 2]
        return cls([PAD, UNK, *words], [PAD, UNK, *chars], tags, lowercase_words, max_word_chars)

    def word_ids(self, tokens: Sequence[str]) -> list[int]:
        if self.lowercase_words:
            tokens = [token.lower() for token in tokens]
        return [self._word_index.get(token, UNK_ID) for token in tokens]

    def char_ids(self, tokens: Sequence[str]) -> list[list[int]]:
        return [
            [self._char_index.get(char, UNK_ID) for char in token[: self.max_word_chars]]
            for token in tokens
        ]

    def tag_ids(self, tags: Sequence[str]) -> list[int]:
        try:
            return [self._tag_index[tag] for tag in tags]
        except KeyError as error:
            raise NmtError(
                f"tag {error.args[0]!r} is not one the model knows ({', '.join(self.tags)})"
            ) from None

    def tag_names(self, ids: Iterable[int]) -> list[str]:
        return [self.tags[i] for i in ids]

    def save(self, path: Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> TaggingVocab:
        return cls(**json.loads(Path(path).read_text("utf-8")))

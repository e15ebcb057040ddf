"""Word and character vocabularies of a corpus, for models that embed whole words and spell them
out (taggers, classifiers over words): built from the training split, saved as JSON with the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nmt.data.special import PAD, UNK, UNK_ID


@dataclass
class WordVocab:
    """Index <-> string maps of words (lowercased with `lowercase_words`) and of the characters
    of each word's first `max_word_chars`; both start with <pad>, <unk> (nmt's special ids)."""

    words: list[str]
    chars: list[str]
    lowercase_words: bool = True
    max_word_chars: int = 30

    def __post_init__(self) -> None:
        self._word_index = {word: i for i, word in enumerate(self.words)}
        self._char_index = {char: i for i, char in enumerate(self.chars)}

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_word_count: int = 1,
        lowercase_words: bool = True,
        max_word_chars: int = 30,
    ) -> WordVocab:
        """Vocabularies of training sentences; words seen fewer than min_word_count times and
        characters seen once are left to <unk>, so the model meets <unk> in training."""
        word_counts: Counter[str] = Counter()
        char_counts: Counter[str] = Counter()
        for tokens in sentences:
            word_counts.update(token.lower() if lowercase_words else token for token in tokens)
            for token in tokens:
                char_counts.update(token[:max_word_chars])
        words = [w for w, n in sorted(word_counts.items()) if n >= min_word_count]
        chars = [c for c, n in sorted(char_counts.items()) if n >= 2]
        return cls([PAD, UNK, *words], [PAD, UNK, *chars], lowercase_words, max_word_chars)

    def word_ids(self, tokens: Sequence[str]) -> list[int]:
        if self.lowercase_words:
            tokens = [token.lower() for token in tokens]
        return [self._word_index.get(token, UNK_ID) for token in tokens]

    def char_ids(self, tokens: Sequence[str]) -> list[list[int]]:
        return [
            [self._char_index.get(char, UNK_ID) for char in token[: self.max_word_chars]]
            for token in tokens
        ]

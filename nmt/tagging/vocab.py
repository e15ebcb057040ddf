"""Vocabularies of a tagger: words, characters and tags, built from the training split.

Saved as one JSON file in the checkpoint directory, so a tagger needs nothing else to run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nmt.data.words import WordVocab
from nmt.engine.rundir import write_json
from nmt.errors import NmtError


@dataclass
class TaggingVocab(WordVocab):
    """The word and character vocabularies of WordVocab, and the tags (without <pad>, <unk>)."""

    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
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
        """WordVocab.build of the sentences, and every tag of `tag_sequences`."""
        words = WordVocab.build(sentences, min_word_count, lowercase_words, max_word_chars)
        tags = sorted({tag for sequence in tag_sequences for tag in sequence})
        return cls(**asdict(words), tags=tags)

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

"""Glossaries: a file of required translations ("checkout<TAB>Kasse"), the entries whose source
term occurs in a sentence, and how often a translation used the required target terms.

File: UTF-8, one `source term<TAB>target term` a line; blank lines and lines starting with `#`
are skipped; a repeated entry counts once; a source term given two different targets is an
error naming both lines. Terms may be several words.

Matching works on words (letters and digits, with inner hyphens and apostrophes) and single
punctuation marks, compared case-insensitively: "Blue Shirt" matches "a man in a blue shirt.".
Where matches overlap, the longest wins (then the leftmost), so "credit card" is taken before
"card" and "card reader" cannot take the same "card".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nmt.data.textfile import numbered_lines
from nmt.errors import NmtError

TOKEN = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")


def term_words(text: str) -> tuple[str, ...]:
    """The words of `text` as matching compares them (case-folded)."""
    return tuple(token.casefold() for token in TOKEN.findall(text))


@dataclass(frozen=True)
class GlossaryEntry:
    source: str
    target: str
    line: int  # where the file gave it (1-based)


@dataclass(frozen=True)
class TermMatch:
    entry: GlossaryEntry
    start: int  # word span [start, end) in the sentence's words (term_words)
    end: int


class Glossary:
    """Entries by their source words; `matches` finds them in a sentence."""

    def __init__(self, entries: Iterable[GlossaryEntry], name: str = "glossary") -> None:
        """`name` (the file) starts the error of a source term given two targets."""
        self.entries: list[GlossaryEntry] = []
        self._by_words: dict[tuple[str, ...], GlossaryEntry] = {}
        for entry in entries:
            words = term_words(entry.source)
            known = self._by_words.get(words)
            if known is None:
                self._by_words[words] = entry
                self.entries.append(entry)
            elif known.target != entry.target:
                raise NmtError(f"{name}:{entry.line}: {entry.source!r} is given the target "
                               f"{entry.target!r} here and {known.target!r} on line "
                               f"{known.line}; keep one")  # fmt: skip
        self._longest = max((len(words) for words in self._by_words), default=0)

    @classmethod
    def read(cls, path: str | Path) -> Glossary:
        """A glossary file (see the module's docstring); errors name the file and line."""
        path = Path(path)
        if not path.is_file():
            raise NmtError(f"{path}: no such glossary file")
        entries = []
        for number, text, _ in numbered_lines(path):
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            fields = text.split("\t")
            if len(fields) != 2 or not term_words(fields[0]) or not fields[1].strip():
                raise NmtError(f"{path}:{number}: expected 'source term<TAB>target term', got "
                               f"{text[:80]!r}")  # fmt: skip
            entries.append(GlossaryEntry(fields[0].strip(), fields[1].strip(), number))
        return cls(entries, str(path))

    def __len__(self) -> int:
        return len(self.entries)

    def matches(self, sentence: str | Sequence[str]) -> list[TermMatch]:
        """The entries found in `sentence` (text, or its term_words), without overlaps, in
        sentence order."""
        words = term_words(sentence) if isinstance(sentence, str) else tuple(sentence)
        found = [
            TermMatch(self._by_words[words[start:end]], start, end)
            for start in range(len(words))
            for end in range(start + 1, min(len(words), start + self._longest) + 1)
            if words[start:end] in self._by_words
        ]
        found.sort(key=lambda match: (match.start - match.end, match.start))
        taken: set[int] = set()
        kept = []
        for match in found:
            span = set(range(match.start, match.end))
            if not span & taken:
                kept.append(match)
                taken |= span
        return sorted(kept, key=lambda match: match.start)


@dataclass(frozen=True)
class TermUse:
    sentence: int  # 0-based
    entry: GlossaryEntry
    used: bool  # the target term's words occur, in order and together, in the translation


def term_uses(
    glossary: Glossary, sources: Sequence[str], translations: Sequence[str]
) -> list[TermUse]:
    """For every glossary entry matched in a source sentence, whether its translation uses the
    target term (compared as term_words: case-insensitively, whole words)."""
    uses = []
    for index, (source, translation) in enumerate(zip(sources, translations, strict=True)):
        output = term_words(translation)
        for match in glossary.matches(source):
            target = term_words(match.entry.target)
            used = any(output[i : i + len(target)] == target
                       for i in range(len(output) - len(target) + 1))  # fmt: skip
            uses.append(TermUse(index, match.entry, used))
    return uses


def term_use_rate(uses: Sequence[TermUse]) -> float | None:
    """The share of matched entries whose target term was used (None: nothing matched)."""
    return sum(use.used for use in uses) / len(uses) if uses else None

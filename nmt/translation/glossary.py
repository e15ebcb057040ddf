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
from collections.abc import Callable, Iterable, Sequence
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


def term_tokens(text: str) -> list[tuple[str, int, int]]:
    """The words of `text` (case-folded) with their character spans [start, end)."""
    return [(m.group().casefold(), m.start(), m.end()) for m in TOKEN.finditer(text)]


@dataclass(frozen=True)
class TermMatch:
    entry: GlossaryEntry
    start: int  # word span [start, end) in the sentence's words (term_words)
    end: int
    char_start: int = -1  # character span in the sentence, when it was given as text
    char_end: int = -1


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
        tokens = term_tokens(sentence) if isinstance(sentence, str) else None
        words = tuple(word for word, _, _ in tokens) if tokens is not None else tuple(sentence)
        found = [
            TermMatch(self._by_words[words[start:end]], start, end,
                      *((tokens[start][1], tokens[end - 1][2]) if tokens else (-1, -1)))
            for start in range(len(words))
            for end in range(start + 1, min(len(words), start + self._longest) + 1)
            if words[start:end] in self._by_words
        ]  # fmt: skip
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


# ----- glossary entries as memory slots (models with a glossary memory) -----
WORD_START = "\u2581"  # sentencepiece's word boundary mark


def chunk_piece_spans(text: str, pieces: Sequence[str]) -> list[tuple[int, int, int, int]] | None:
    """For each whitespace-separated chunk of `text`: its character span and the span of the
    `pieces` (the sentence's sentencepiece pieces) that spell it, as (char start, char end,
    piece start, piece end). Sentencepiece never joins two chunks in a piece and starts each with
    the word boundary mark; None when the counts disagree (a normaliser that split or joined
    chunks), and the sentence then gets no memory."""
    starts = [i for i, piece in enumerate(pieces) if piece.startswith(WORD_START)]
    chunks = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if len(starts) != len(chunks) or (pieces and starts[0] != 0):
        return None
    ends = [*starts[1:], len(pieces)]
    return [(c0, c1, p0, p1) for (c0, c1), p0, p1 in zip(chunks, starts, ends)]


def piece_span(
    chunks: Sequence[tuple[int, int, int, int]], char_start: int, char_end: int
) -> tuple[int, int]:
    """The pieces [start, end) of the chunks that a character span touches."""
    touched = [(p0, p1) for c0, c1, p0, p1 in chunks if c0 < char_end and char_start < c1]
    return touched[0][0], touched[-1][1]


def training_terms(
    source: str, target: str, targets_of: Callable[[str], dict[str, str]]
) -> list[tuple[int, int, int, str]]:
    """Pseudo-glossary entries of a training pair: each source word whose dictionary
    translation (`targets_of(word)`: case-folded target -> spelling) occurs in the reference,
    as (source char start, source char end, target char start, target word spelled as the
    reference spells it); where several of its translations occur, the dictionary's first."""
    reference: dict[str, tuple[int, str]] = {}
    for word, start, end in term_tokens(target):
        reference.setdefault(word, (start, target[start:end]))
    found = []
    for word, start, end in term_tokens(source):
        for translation in targets_of(word):
            if translation in reference:
                found.append((start, end, *reference[translation]))
                break
    return found


Entry = tuple[int, int, list[int]]  # source piece span [start, end) and the target's piece ids


def sentence_entries(
    source: str,
    terms: Sequence[tuple[int, int, str]],
    src_pieces: Sequence[str],
    encode_target: Callable[[str], list[int]],
) -> list[Entry]:
    """Terms of one sentence as (char start, char end, target text) -> memory entries over its
    source pieces; [] when the pieces cannot be lined up with the text (chunk_piece_spans)."""
    chunks = chunk_piece_spans(source, src_pieces)
    if chunks is None:
        return []
    return [(*piece_span(chunks, start, end), encode_target(target))
            for start, end, target in terms]  # fmt: skip


def glossary_entries(
    glossary: Glossary, sources: Sequence[str], tokenizer, limit: int | None = None
) -> list[list[Entry]]:
    """Memory entries of each sentence from a user's glossary (`tokenizer`: the model's
    SubwordTokenizer); entries reaching past `limit` source pieces (an input cut short) are
    dropped."""
    targets: dict[str, list[int]] = {}

    def encode_target(text: str) -> list[int]:
        if text not in targets:
            targets[text] = tokenizer.encode_tgt([text])[0]
        return targets[text]

    pieces = tokenizer.src_model.encode([s.strip() for s in sources], out_type=str)
    found = []
    for source, src_pieces in zip(sources, pieces):
        source = source.strip()
        terms = [(m.char_start, m.char_end, m.entry.target) for m in glossary.matches(source)]
        entries = sentence_entries(source, terms, src_pieces, encode_target)
        found.append([entry for entry in entries if limit is None or entry[1] <= limit])
    return found


class TrainingTermColumns:
    """The `datasets.map` function that adds each training pair's pseudo-glossary candidates
    (training_terms) as columns: term_starts, term_ends (source piece spans), term_ids (target
    piece ids) and term_target_starts (where those pieces stand in tgt_ids, or -1 where the
    reference spells the word with other pieces, glued to punctuation say). datasets hashes it,
    dictionary and tokenizer included, for its cache."""

    def __init__(self, tokenizer, targets_of: Callable[[str], dict[str, str]]) -> None:
        self.tokenizer = tokenizer
        self.targets_of = targets_of
        self.columns = TERM_COLUMNS  # part of datasets' cache key: new columns, new cache

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        src_pieces = self.tokenizer.src_model.encode(batch["src"], out_type=str)
        tgt_pieces = self.tokenizer.tgt_model.encode(batch["tgt"], out_type=str)
        columns: dict[str, list] = {name: [] for name in self.columns}
        for source, target, pieces, target_pieces, tgt_ids in zip(
            batch["src"], batch["tgt"], src_pieces, tgt_pieces, batch["tgt_ids"]
        ):
            terms = training_terms(source, target, self.targets_of)
            entries = sentence_entries(
                source, [(start, end, word) for start, end, _, word in terms], pieces,
                lambda text: self.tokenizer.encode_tgt([text])[0],
            )  # fmt: skip
            chunks = chunk_piece_spans(target, target_pieces) if entries else None
            columns["term_starts"].append([entry[0] for entry in entries])
            columns["term_ends"].append([entry[1] for entry in entries])
            columns["term_ids"].append([entry[2] for entry in entries])
            columns["term_target_starts"].append([
                _target_start(chunks, tgt_ids, term[2], entry[2])
                for term, entry in zip(terms, entries)
            ])  # fmt: skip
        return columns


TERM_COLUMNS = ("term_starts", "term_ends", "term_ids", "term_target_starts")


def _target_start(chunks, tgt_ids: Sequence[int], char_start: int, ids: list[int]) -> int:
    """Where the term's pieces `ids` stand in the reference's `tgt_ids` (its word starts at
    `char_start`), or -1."""
    if chunks is None:
        return -1
    start, _ = piece_span(chunks, char_start, char_start + 1)
    return start if list(tgt_ids[start : start + len(ids)]) == ids else -1

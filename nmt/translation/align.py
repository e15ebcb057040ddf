"""Word alignment (IBM model 1, both directions, intersected) and the term dictionary built from
it: the pseudo-glossary a glossary-memory model trains with.

IBM model 1 (Brown et al. 1993) learns P(target word | source word) by EM from sentence pairs
alone; each word is then linked to its most probable partner, in both directions, and only links
found both ways are kept (the classic high-precision "intersection"). Counting the kept links
over the corpus gives the dictionary: `source TAB target TAB count` lines, most frequent
translation first. Words are compared as the glossary compares them (nmt.translation.glossary:
case-folded); the dictionary writes each word in its most frequent spelling ("Mann", not
"mann"). Punctuation, numbers and the most frequent words of each side (articles, prepositions)
are left out, as are words under three letters: they are seldom terms.

Everything is vectorised with numpy over all (source, target) word pairs of the corpus at once:
Multi30k's 29,000 pairs align in seconds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmt.data.textfile import numbered_lines
from nmt.engine.rundir import atomic_write
from nmt.errors import NmtError
from nmt.translation.glossary import TOKEN

NULL = 0  # id of the empty word a target word may align to


class _Vocabulary:
    """Case-folded words -> ids (0 is NULL), with each word's most frequent spelling."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"": NULL}
        self.spellings: dict[str, Counter[str]] = defaultdict(Counter)
        self.frequency: Counter[str] = Counter()

    def encode(self, text: str) -> list[int]:
        ids = []
        for token in TOKEN.findall(text):
            word = token.casefold()
            self.spellings[word][token] += 1
            self.frequency[word] += 1
            ids.append(self.ids.setdefault(word, len(self.ids)))
        return ids

    def words(self) -> list[str]:
        return list(self.ids)

    def spelling(self, word: str) -> str:
        return self.spellings[word].most_common(1)[0][0]


@dataclass
class _Pairs:
    """Every (source position incl. NULL, target position) pair of every sentence, flat."""

    source: np.ndarray  # word id
    target: np.ndarray  # word id
    group: np.ndarray  # one group per target word occurrence: the sources it may align to
    source_position: np.ndarray  # -1 for NULL
    target_position: np.ndarray
    sentence: np.ndarray


def _pairs(sources: Sequence[list[int]], targets: Sequence[list[int]]) -> _Pairs:
    source, target, group, source_position, target_position, sentence = [], [], [], [], [], []
    groups = 0
    for index, (src, tgt) in enumerate(zip(sources, targets)):
        with_null = [NULL, *src]
        positions = list(range(-1, len(src)))
        for j, word in enumerate(tgt):
            source.extend(with_null)
            source_position.extend(positions)
            target.extend([word] * len(with_null))
            target_position.extend([j] * len(with_null))
            group.extend([groups] * len(with_null))
            sentence.extend([index] * len(with_null))
            groups += 1
    arrays = (source, target, group, source_position, target_position, sentence)
    return _Pairs(*(np.asarray(values, dtype=np.int64) for values in arrays))


def ibm1_links(
    sources: Sequence[list[int]], targets: Sequence[list[int]], iterations: int = 5
) -> set[tuple[int, int, int]]:
    """(sentence, source position, target position) of each target word's most probable
    source word under IBM model 1 trained by EM (`iterations` rounds); NULL links left out."""
    pairs = _pairs(sources, targets)
    if pairs.source.size == 0:
        return set()
    keys = pairs.source * (int(pairs.target.max()) + 1) + pairs.target
    unique, pair_id = np.unique(keys, return_inverse=True)
    unique_source = unique // (int(pairs.target.max()) + 1)
    probability = np.ones(unique.size)
    for _ in range(iterations):
        p = probability[pair_id]
        posterior = p / np.bincount(pairs.group, p)[pairs.group]
        counts = np.bincount(pair_id, posterior, minlength=unique.size)
        probability = counts / np.bincount(unique_source, counts)[unique_source]
    p = probability[pair_id]
    order = np.lexsort((-p, pairs.group))
    _, first = np.unique(pairs.group[order], return_index=True)
    best = order[first]
    best = best[pairs.source_position[best] >= 0]
    return set(zip(pairs.sentence[best].tolist(), pairs.source_position[best].tolist(),
                   pairs.target_position[best].tolist()))  # fmt: skip


class TermDictionary:
    """Source word -> its translations with link counts, most frequent first."""

    def __init__(self, translations: dict[str, list[tuple[str, int]]]) -> None:
        self.translations = translations
        self._casefolded = {
            source.casefold(): {target.casefold(): target for target, _ in targets}
            for source, targets in translations.items()
        }

    def __len__(self) -> int:
        return sum(len(targets) for targets in self.translations.values())

    def targets_of(self, source_word: str) -> dict[str, str]:
        """Case-folded target word -> its spelling, for a case-folded source word."""
        return self._casefolded.get(source_word, {})

    def write(self, path: str | Path) -> None:
        """`source TAB target TAB count` lines, atomically, with a header comment."""
        lines = ["# nmt term dictionary: source<TAB>target<TAB>links (nmt translate align)\n"]
        for source, targets in self.translations.items():
            lines.extend(f"{source}\t{target}\t{count}\n" for target, count in targets)
        atomic_write(Path(path), lambda tmp: tmp.write_text("".join(lines), encoding="utf-8"))

    @classmethod
    def read(cls, path: str | Path) -> TermDictionary:
        path = Path(path)
        if not path.is_file():
            raise NmtError(f"{path}: no such term dictionary (make one with nmt translate align)")
        translations: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for number, text, _ in numbered_lines(path):
            if not text.strip() or text.startswith("#"):
                continue
            fields = text.split("\t")
            if len(fields) != 3 or not fields[2].isdigit() or not all(fields[:2]):
                raise NmtError(f"{path}:{number}: expected 'source<TAB>target<TAB>count', got "
                               f"{text[:80]!r}")  # fmt: skip
            translations[fields[0]].append((fields[1], int(fields[2])))
        return cls(dict(translations))


def build_term_dictionary(
    src_texts: Iterable[str],
    tgt_texts: Iterable[str],
    min_count: int = 2,
    skip_frequent: int = 10,
    iterations: int = 5,
) -> TermDictionary:
    """Align the sentence pairs both ways and keep the links found both ways, between words of
    three or more letters that are not among the `skip_frequent` most frequent of their side,
    seen at least `min_count` times."""
    src_vocab, tgt_vocab = _Vocabulary(), _Vocabulary()
    sources = [src_vocab.encode(text) for text in src_texts]
    targets = [tgt_vocab.encode(text) for text in tgt_texts]
    if len(sources) != len(targets):
        raise NmtError(f"{len(sources)} source sentences but {len(targets)} target sentences")
    forward = ibm1_links(sources, targets, iterations)
    backward = ibm1_links(targets, sources, iterations)
    links = forward & {(n, i, j) for n, j, i in backward}
    src_words, tgt_words = src_vocab.words(), tgt_vocab.words()
    frequent = {w for w, _ in src_vocab.frequency.most_common(skip_frequent)} | {
        w for w, _ in tgt_vocab.frequency.most_common(skip_frequent)
    }
    counts: Counter[tuple[str, str]] = Counter()
    for n, i, j in links:
        source, target = src_words[sources[n][i]], tgt_words[targets[n][j]]
        if _term_like(source) and _term_like(target) and not {source, target} & frequent:
            counts[source, target] += 1
    translations: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (source, target), count in sorted(counts.items(), key=lambda item: (item[0][0], -item[1])):
        if count >= min_count:
            translations[src_vocab.spelling(source)].append((tgt_vocab.spelling(target), count))
    return TermDictionary(dict(translations))


def _term_like(word: str) -> bool:
    return word.isalpha() and len(word) >= 3

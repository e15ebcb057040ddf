"""Generated tagging tasks for examples and tests: nothing to download, exact answers.

"pos": sentences from a small grammar whose ambiguous words (e.g. "watch" as NOUN or VERB) are
tagged by their place in the sentence, so the tagger must read context; written as CoNLL-U.
"ner": template sentences with person, location and organisation names in BIO tags, where some
names ("Jordan", "Washington") are a person or a place depending on the words around them;
written as a two-column CoNLL file.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from nmt.errors import NmtError

TAGGING_TASKS = ("pos", "ner")
TaggedTokens = list[tuple[str, str]]

_DETERMINERS = ("the", "a", "this", "every")
_ADJECTIVES = ("old", "small", "green", "quiet", "light", "happy")
_NOUNS = ("dog", "teacher", "garden", "watch", "book", "light", "play", "river", "city")
_VERBS = ("sees", "finds", "watch", "book", "play", "likes", "run", "opens")
_ADVERBS = ("quickly", "often", "today", "here")
_PREPOSITIONS = ("in", "near", "with", "behind")
_PROPER_NOUNS = ("Anna", "Berlin", "Omar", "Lisbon")

_FIRST_NAMES = ("Anna", "Omar", "Jordan", "Maria", "Kenji", "Ada")
_LAST_NAMES = ("Smith", "Washington", "Okafor", "Lee", "Rossi")
_PLACES = (("Paris",), ("New", "York"), ("Jordan",), ("Washington",), ("Lagos",), ("Kyoto",))
_ORGANISATIONS = (("Acme", "Corp"), ("United", "Nations"), ("Red", "Cross"), ("Globex",))
_NER_TEMPLATES = (
    ("PER", "lives", "in", "LOC", "."),
    ("PER", "met", "PER", "at", "ORG", "."),
    ("the", "ORG", "office", "in", "LOC", "opened", "today", "."),
    ("yesterday", "PER", "said", "that", "ORG", "will", "move", "to", "LOC", "."),
    ("we", "flew", "from", "LOC", "to", "LOC", "with", "PER", "."),
)


def _noun_phrase(rng: random.Random) -> TaggedTokens:
    if rng.random() < 0.2:
        return [(rng.choice(_PROPER_NOUNS), "PROPN")]
    words = [(rng.choice(_DETERMINERS), "DET")]
    words += [(rng.choice(_ADJECTIVES), "ADJ") for _ in range(rng.choice((0, 0, 1, 2)))]
    return [*words, (rng.choice(_NOUNS), "NOUN")]


def _pos_sentence(rng: random.Random) -> TaggedTokens:
    sentence = _noun_phrase(rng)
    if rng.random() < 0.3:
        sentence += [("will", "AUX"), (rng.choice(("watch", "book", "play", "run")), "VERB")]
    else:
        sentence.append((rng.choice(_VERBS), "VERB"))
    sentence += _noun_phrase(rng) if rng.random() < 0.7 else [(rng.choice(_ADVERBS), "ADV")]
    if rng.random() < 0.4:
        sentence += [(rng.choice(_PREPOSITIONS), "ADP"), *_noun_phrase(rng)]
    return [*sentence, (".", "PUNCT")]


def _entity(kind: str, rng: random.Random) -> TaggedTokens:
    if kind == "PER":
        words = [rng.choice(_FIRST_NAMES)] + (
            [rng.choice(_LAST_NAMES)] if rng.random() < 0.6 else []
        )
    else:
        words = list(rng.choice(_PLACES if kind == "LOC" else _ORGANISATIONS))
    return [(word, ("B-" if i == 0 else "I-") + kind) for i, word in enumerate(words)]


def _ner_sentence(rng: random.Random) -> TaggedTokens:
    sentence: TaggedTokens = []
    for slot in rng.choice(_NER_TEMPLATES):
        sentence += _entity(slot, rng) if slot in ("PER", "LOC", "ORG") else [(slot, "O")]
    return sentence


def make_tagged_sentences(task: str, count: int, seed: int) -> list[TaggedTokens]:
    """`count` sentences of (token, tag) pairs, fully determined by the seed."""
    if task not in TAGGING_TASKS:
        raise NmtError(f"unknown tagging task {task!r}; choose one of {', '.join(TAGGING_TASKS)}")
    rng = random.Random(seed)
    make = _pos_sentence if task == "pos" else _ner_sentence
    return [make(rng) for _ in range(count)]


def write_tagging_splits(
    task: str, out_dir: str | Path, sizes: Mapping[str, int], seed: int = 0
) -> dict[str, Path]:
    """Write one file per split ("pos": SPLIT.conllu, "ner": SPLIT.bio); returns the paths."""
    sentences = make_tagged_sentences(task, sum(sizes.values()), seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, start = {}, 0
    for split, size in sizes.items():
        chunk, start = sentences[start : start + size], start + size
        if task == "pos":
            path = out_dir / f"{split}.conllu"
            blocks = [
                "".join(
                    f"{i}\t{word}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n"
                    for i, (word, tag) in enumerate(sentence, start=1)
                )
                for sentence in chunk
            ]
        else:
            path = out_dir / f"{split}.bio"
            blocks = ["".join(f"{word}\t{tag}\n" for word, tag in sentence) for sentence in chunk]
        path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
        paths[split] = path
    return paths

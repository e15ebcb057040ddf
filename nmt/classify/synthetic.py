"""A generated classification task for tests and demos, with exact answers: the label is decided
by one keyword among a text's first three words, and twenty-odd filler words follow. A model
that summarises a text by its last state must carry the keyword through all of them (a plain
RNN forgets it); pooling over every position finds it wherever it is."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from nmt.errors import NmtError

KEYWORDS = {"good": "positive", "great": "positive", "bad": "negative", "awful": "negative"}
FILLER = (
    "the a film plot actor scene music story was is and of it this that with very quite some "
    "long short old new ending start camera light"
).split()


def make_texts(count: int, seed: int, length: tuple[int, int] = (20, 30)) -> list[tuple[str, str]]:
    """`count` (text, label) pairs."""
    if count < 0 or not 4 <= length[0] <= length[1]:
        raise NmtError(f"bad task settings: count {count}, length {length}")
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        words = [rng.choice(FILLER) for _ in range(rng.randint(*length))]
        keyword = rng.choice(sorted(KEYWORDS))
        words[rng.randrange(3)] = keyword
        pairs.append((" ".join(words), KEYWORDS[keyword]))
    return pairs


def write_keyword_task(
    out_dir: str | Path, sizes: Mapping[str, int], seed: int = 0
) -> dict[str, Path]:
    """SPLIT.tsv (columns sentence, label) for each split, from different seeds."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for offset, (split, size) in enumerate(sizes.items()):
        rows = make_texts(size, seed * 1000 + offset)
        path = out_dir / f"{split}.tsv"
        path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in rows))
        paths[split] = path
    return paths

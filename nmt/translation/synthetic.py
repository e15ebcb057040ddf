"""Generated translation tasks for the demo and the tests: nothing to download, exact answers.

"dates" rewrites a date given in one of five formats into one English wording (reordering and
numbers to words, so attention matters); "reverse" and "copy" work on short symbol sequences;
"lexicon" translates made-up words one by one through a fixed dictionary (LEXICON), the smallest
task with terms in it (glossary memory tests).
"""

import datetime
import random
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from nmt.errors import NmtError

TASKS = ("dates", "reverse", "copy", "lexicon")
DEFAULT_SPLIT_SIZES: Mapping[str, int] = MappingProxyType(
    {"train": 20_000, "validation": 500, "test": 500}
)

MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ORDINAL_UNITS = (
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth",
)  # fmt: skip
_FIRST_DAY = datetime.date(1950, 1, 1)
_DAY_COUNT = (datetime.date(2049, 12, 31) - _FIRST_DAY).days + 1
# Source formats; only ones that name a single date (no ambiguous month/day order).
_DATE_FORMATS = (
    lambda d: f"{d.year}-{d.month:02d}-{d.day:02d}",  # 2023-04-17
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 17.04.2023
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",  # 17/04/2023
    lambda d: f"{MONTHS[d.month - 1].capitalize()} {d.day}, {d.year}",  # April 17, 2023
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3].capitalize()} {d.year}",  # 17 Apr 2023
)
_SYMBOLS = "abcdefghij"
_MIN_SYMBOLS, _MAX_SYMBOLS = 3, 10
LEXICON: Mapping[str, str] = MappingProxyType(dict(zip(
    "mesa rolo tika pure dano gile voka sune bari lemo kiru fota".split(),
    "tisch rad kopf blau hund gelb haus sonne baum licht kind feld".split(),
)))  # fmt: skip


def ordinal_words(day: int) -> str:
    """Day of the month as English ordinal words: 1 -> "first", 21 -> "twenty first"."""
    if day < 20:
        return _ORDINAL_UNITS[day]
    if day == 20:
        return "twentieth"
    if day == 30:
        return "thirtieth"
    tens = "twenty" if day < 30 else "thirty"
    return f"{tens} {_ORDINAL_UNITS[day % 10]}"


def date_target(date: datetime.date) -> str:
    """The one canonical wording of a date: "the seventeenth of april 2023"."""
    return f"the {ordinal_words(date.day)} of {MONTHS[date.month - 1]} {date.year}"


def _date_pairs(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Distinct (date, format) combinations drawn without replacement."""
    total = _DAY_COUNT * len(_DATE_FORMATS)
    if count > total:
        raise NmtError(f"the dates task has only {total} distinct sentences; asked for {count}")
    pairs = []
    for code in rng.sample(range(total), count):
        day_offset, format_index = divmod(code, len(_DATE_FORMATS))
        date = _FIRST_DAY + datetime.timedelta(days=day_offset)
        pairs.append((_DATE_FORMATS[format_index](date), date_target(date)))
    return pairs


def _symbol_sentences(count: int, rng: random.Random) -> list[str]:
    """Distinct space-separated symbol sequences of 3 to 10 symbols, in drawing order."""
    seen: dict[str, None] = {}  # a dict keeps insertion order, so the result is deterministic
    while len(seen) < count:
        length = rng.randint(_MIN_SYMBOLS, _MAX_SYMBOLS)
        seen[" ".join(rng.choice(_SYMBOLS) for _ in range(length))] = None
    return list(seen)


def _lexicon_pairs(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Distinct sentences of 3 to 8 lexicon words and their word-by-word translations."""
    words = list(LEXICON)
    seen: dict[str, None] = {}
    while len(seen) < count:
        seen[" ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))] = None
    return [(src, " ".join(LEXICON[word] for word in src.split())) for src in seen]


def make_pairs(task: str, count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (source, target) pairs of a task, with distinct sources, fully determined by seed."""
    if task not in TASKS:
        raise NmtError(f"unknown synthetic task {task!r}; choose one of {', '.join(TASKS)}")
    if count < 0:
        raise NmtError(f"count must be >= 0, got {count}")
    rng = random.Random(seed)
    if task == "dates":
        return _date_pairs(count, rng)
    if task == "lexicon":
        return _lexicon_pairs(count, rng)
    sentences = _symbol_sentences(count, rng)
    if task == "reverse":
        return [(src, " ".join(reversed(src.split()))) for src in sentences]
    return [(src, src) for src in sentences]


def write_task_splits(
    task: str,
    out_dir: str | Path,
    sizes: Mapping[str, int] = DEFAULT_SPLIT_SIZES,
    seed: int = 0,
    src_lang: str = "src",
    tgt_lang: str = "tgt",
) -> Path:
    """Write `{split}.{src_lang}` and `{split}.{tgt_lang}` text files, one sentence per line.

    All splits come from one draw of distinct sources, so no source sentence is in two splits.
    Returns out_dir.
    """
    if src_lang == tgt_lang:
        raise NmtError(f"src_lang and tgt_lang must differ (both are {src_lang!r})")
    if any(size < 0 for size in sizes.values()):
        raise NmtError(f"split sizes must be >= 0, got {dict(sizes)}")
    pairs = make_pairs(task, sum(sizes.values()), seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for split, size in sizes.items():
        split_pairs = pairs[start : start + size]
        start += size
        for lang, side in ((src_lang, 0), (tgt_lang, 1)):
            lines = "".join(pair[side] + "\n" for pair in split_pairs)
            (out_dir / f"{split}.{lang}").write_text(lines, encoding="utf-8")
    return out_dir

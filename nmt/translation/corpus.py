"""Parallel corpora as Hugging Face `datasets`: one loader for every source, and pair cleaning.

Every corpus comes back as a DatasetDict of string columns "src" and "tgt". Local files are
checked line by line before `datasets` reads them, so a bad file fails with an NmtError naming
the file and line instead of a pyarrow traceback. `datasets` caches what it builds by file path
and modification time: a file rewritten in place with its old mtime restored is not re-read.
"""

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np

from nmt.data.textfile import numbered_lines
from nmt.errors import NmtError

logger = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "validation", "test")
CORPUS_FORMATS = ("text", "tsv", "jsonl", "hub")

PAIR_FEATURES = datasets.Features(
    {"src": datasets.Value("string"), "tgt": datasets.Value("string")}
)


def load_parallel_corpus(
    format: str,
    path: str | Path,
    src_lang: str,
    tgt_lang: str,
    split_files: Mapping[str, str] | None = None,
    hub_config: str | None = None,
    cache_dir: str | None = None,
) -> datasets.DatasetDict:
    """Load a parallel corpus from local files or the Hugging Face hub, in one common layout.

    `path` is a directory of files ("text", "tsv", "jsonl") or a dataset name ("hub").
    `split_files` maps a split to its file stem (or hub split name); by default each split's
    own name. Columns "src" and "tgt" (str); holds the splits that exist, and train always.
    """
    if format not in CORPUS_FORMATS:
        choices = ", ".join(CORPUS_FORMATS)
        raise NmtError(f"unknown corpus format {format!r}; choose one of {choices}")
    if src_lang == tgt_lang:
        raise NmtError(f"source and target language are both {src_lang!r}")
    unknown_splits = sorted(set(split_files or {}) - set(SPLITS))
    if unknown_splits:
        raise NmtError(f"unknown split(s) {unknown_splits} in split_files; choose from {SPLITS}")
    stems = {split: (split_files or {}).get(split, split) for split in SPLITS}

    if format == "hub":
        corpus = _load_hub(str(path), hub_config, stems, src_lang, tgt_lang, cache_dir)
    else:
        load_files = {"text": _load_text, "tsv": _load_tsv, "jsonl": _load_jsonl}[format]
        corpus = load_files(Path(path), stems, src_lang, tgt_lang, cache_dir)
    sizes = ", ".join(f"{split} {dataset.num_rows}" for split, dataset in corpus.items())
    logger.info("loaded %s corpus %s (%s-%s): %s pairs", format, path, src_lang, tgt_lang, sizes)
    return corpus


def _find_split_files(
    directory: Path, stems: Mapping[str, str], suffixes: Sequence[str]
) -> dict[str, list[Path]]:
    """Find `{stem}.{suffix}` for each split. Train must exist; other splits may be absent."""
    if not directory.is_dir():
        raise NmtError(f"corpus directory {directory} does not exist")
    found = {}
    for split, stem in stems.items():
        paths = [directory / f"{stem}.{suffix}" for suffix in suffixes]
        missing = [str(path) for path in paths if not path.is_file()]
        if not missing:
            found[split] = paths
        elif split == "train" or len(missing) < len(paths):
            raise NmtError(f"{split} corpus file(s) not found: {', '.join(missing)}")
        else:
            logger.info("no %s split: %s not found, skipping it", split, ", ".join(missing))
    return found


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for each line, split as datasets' text builder splits.

    A trailing newline ends the last line and adds none; a leading BOM is dropped. Fails on
    invalid UTF-8, and on a carriage return inside a line: the builder reads with universal
    newlines, so a lone "\\r" would silently split one sentence into two rows.
    """
    for number, text, _ in numbered_lines(path):
        if "\r" in text:
            raise NmtError(f"{path}:{number}: carriage return inside the line")
        yield number, text


def _load_files(
    builder: str, files: Mapping[str, Path], cache_dir: str | None, encoding: str = "utf-8"
) -> datasets.DatasetDict:
    """Run a packaged `datasets` builder on checked local files, one file per split."""
    data_files = {split: str(path) for split, path in files.items()}
    try:
        return datasets.load_dataset(
            builder, data_files=data_files, cache_dir=cache_dir, encoding=encoding
        )
    except Exception as error:  # the files passed our checks; report whatever datasets found
        paths = ", ".join(data_files.values())
        raise NmtError(f"datasets could not read {paths}: {error}") from error


def _load_text(
    directory: Path, stems: Mapping[str, str], src_lang: str, tgt_lang: str, cache_dir: str | None
) -> datasets.DatasetDict:
    """Load `{stem}.{src_lang}` / `{stem}.{tgt_lang}` line pairs; empty lines stay rows."""
    files = _find_split_files(directory, stems, (src_lang, tgt_lang))
    for src_path, tgt_path in files.values():
        src_count = _count_lines(src_path)
        tgt_count = _count_lines(tgt_path)
        if src_count != tgt_count:
            raise NmtError(
                f"line counts differ: {src_path} has {src_count} lines, "
                f"{tgt_path} has {tgt_count} lines"
            )
    src_files = {split: paths[0] for split, paths in files.items()}
    tgt_files = {split: paths[1] for split, paths in files.items()}
    # utf-8-sig drops a leading BOM, as _read_lines does
    src_corpus = _load_files("text", src_files, cache_dir, encoding="utf-8-sig")
    tgt_corpus = _load_files("text", tgt_files, cache_dir, encoding="utf-8-sig")
    return datasets.DatasetDict(
        {
            split: datasets.concatenate_datasets(
                [
                    src_corpus[split].rename_column("text", "src"),
                    tgt_corpus[split].rename_column("text", "tgt"),
                ],
                axis=1,
            )
            for split in files
        }
    )


def _count_lines(path: Path) -> int:
    """Count the rows datasets' text builder will make of `path`; an empty file is an error."""
    count = sum(1 for _ in _read_lines(path))
    if count == 0:
        raise NmtError(f"{path} is empty")
    return count


def _load_tsv(
    directory: Path, stems: Mapping[str, str], src_lang: str, tgt_lang: str, cache_dir: str | None
) -> datasets.DatasetDict:
    """Load `{stem}.tsv` lines `src<TAB>tgt`. No quoting, so quotes are ordinary characters."""
    found = _find_split_files(directory, stems, ["tsv"])
    files = {split: paths[0] for split, paths in found.items()}
    has_header = {split: _check_tsv(path, src_lang, tgt_lang) for split, path in files.items()}
    # The text builder reads lines verbatim; a csv builder would parse quotes and "NA"-like values.
    lines = _load_files("text", files, cache_dir, encoding="utf-8-sig")
    corpus = {}
    for split, dataset in lines.items():
        if has_header[split]:
            dataset = dataset.select(range(1, dataset.num_rows))
        corpus[split] = dataset.map(
            _split_tsv_fields, batched=True, remove_columns=["text"], features=PAIR_FEATURES
        )
    return datasets.DatasetDict(corpus)


def _check_tsv(path: Path, src_lang: str, tgt_lang: str) -> bool:
    """Check every line has two tab-separated fields; return whether line 1 is a header."""
    has_header = False
    pairs = 0
    for number, text in _read_lines(path):
        fields = text.split("\t")
        if len(fields) != 2:
            raise NmtError(
                f"{path}:{number}: expected 2 tab-separated fields (src, tgt), found {len(fields)}"
            )
        if number == 1 and fields == [src_lang, tgt_lang]:
            has_header = True
        else:
            pairs += 1
    if pairs == 0:
        raise NmtError(f"{path} holds no sentence pairs")
    return has_header


def _split_tsv_fields(batch: dict[str, list]) -> dict[str, list[str]]:
    fields = [line.split("\t") for line in batch["text"]]
    return {"src": [src for src, _ in fields], "tgt": [tgt for _, tgt in fields]}


def _load_jsonl(
    directory: Path, stems: Mapping[str, str], src_lang: str, tgt_lang: str, cache_dir: str | None
) -> datasets.DatasetDict:
    """Load `{stem}.jsonl`: `{"en": .., "de": ..}` or `{"translation": {"en": .., "de": ..}}`."""
    found = _find_split_files(directory, stems, ["jsonl"])
    files = {split: paths[0] for split, paths in found.items()}
    for path in files.values():
        _check_jsonl(path, src_lang, tgt_lang)
    records = _load_files("json", files, cache_dir)
    return datasets.DatasetDict(
        {
            split: _to_pairs(dataset, src_lang, tgt_lang, source=str(files[split]))
            for split, dataset in records.items()
        }
    )


def _check_jsonl(path: Path, src_lang: str, tgt_lang: str) -> None:
    """Check each non-blank line is an object holding both languages as strings, in one layout."""
    first_layout = None
    pairs = 0
    for number, text in _read_lines(path):
        if not text.strip():
            continue  # pyarrow's JSON reader skips blank lines too
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise NmtError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            found = type(record).__name__
            raise NmtError(f"{path}:{number}: expected a JSON object, found {found}")
        layout = "translation" if "translation" in record else "flat"
        first_layout = first_layout or layout
        if layout != first_layout:
            raise NmtError(f'{path}:{number}: mixes flat and "translation" records')
        sentences = record["translation"] if layout == "translation" else record
        for lang in (src_lang, tgt_lang):
            if not isinstance(sentences, dict) or not isinstance(sentences.get(lang), str):
                raise NmtError(f"{path}:{number}: no {lang!r} sentence (a string) in {text[:80]}")
        pairs += 1
    if pairs == 0:
        raise NmtError(f"{path} holds no sentence pairs")


def _load_hub(
    name: str,
    hub_config: str | None,
    stems: Mapping[str, str],
    src_lang: str,
    tgt_lang: str,
    cache_dir: str | None,
) -> datasets.DatasetDict:
    """Load a hub dataset (or a local folder of data files) and pick out the language pair."""
    try:
        loaded = datasets.load_dataset(name, hub_config, cache_dir=cache_dir)
    except Exception as error:  # network, unknown name or config, unsupported format, ...
        message = f"could not load dataset {name!r} (config {hub_config!r}): {error}"
        raise NmtError(message) from error
    corpus = {}
    for split, stem in stems.items():
        # fall back to the split's own name: datasets calls a local "dev.jsonl" "validation"
        hub_split = stem if stem in loaded else split
        if hub_split in loaded:
            source = f"dataset {name!r} split {hub_split!r}"
            corpus[split] = _to_pairs(loaded[hub_split], src_lang, tgt_lang, source)
        elif split == "train":
            raise NmtError(f"dataset {name!r} has no split {stem!r}; it has {', '.join(loaded)}")
        else:
            logger.info("dataset %r has no %s split %r, skipping it", name, split, stem)
    return datasets.DatasetDict(corpus)


def _to_pairs(
    dataset: datasets.Dataset, src_lang: str, tgt_lang: str, source: str
) -> datasets.Dataset:
    """Turn flat language columns or a "translation" dict column into "src" and "tgt"."""
    translation = dataset.features.get("translation")
    if isinstance(translation, datasets.Translation):
        nested, languages = True, list(translation.languages)
    elif isinstance(translation, dict):
        nested, languages = True, list(translation)
    else:
        nested, languages = False, dataset.column_names
    missing = [lang for lang in (src_lang, tgt_lang) if lang not in languages]
    if missing:
        where = "translation languages" if nested else "columns"
        raise NmtError(f"{source}: no {', '.join(missing)}; its {where} are {', '.join(languages)}")
    return dataset.map(
        _extract_pairs,
        batched=True,
        remove_columns=dataset.column_names,
        features=PAIR_FEATURES,
        fn_kwargs={"src_lang": src_lang, "tgt_lang": tgt_lang, "nested": nested},
    )


def _extract_pairs(
    batch: dict[str, list], src_lang: str, tgt_lang: str, nested: bool
) -> dict[str, list[str]]:
    if nested:
        records = [record or {} for record in batch["translation"]]
        src = [record.get(src_lang) for record in records]
        tgt = [record.get(tgt_lang) for record in records]
    else:
        src, tgt = batch[src_lang], batch[tgt_lang]
    # a missing sentence becomes "", which cleaning drops as empty
    return {"src": [text or "" for text in src], "tgt": [text or "" for text in tgt]}


@dataclass(frozen=True)
class CleaningStats:
    """Pairs kept and dropped in one split, by the first reason that applied."""

    kept: int
    dropped_empty: int
    dropped_too_long: int
    dropped_ratio: int


_KEEP, _EMPTY, _TOO_LONG, _RATIO = range(4)  # drop reasons, checked in this order


def clean_corpus(
    corpus: datasets.DatasetDict,
    max_length: int | None = 100,
    max_ratio: float | None = 3.0,
    length_filtered_splits: Sequence[str] = ("train",),
) -> tuple[datasets.DatasetDict, dict[str, CleaningStats]]:
    """Strip both sides and drop pairs with an empty side, in every split.

    Splits in `length_filtered_splits` also drop pairs with a side over `max_length`
    whitespace-separated words, or whose longer side has over `max_ratio` times the words of the
    shorter (both sides have at least one word by then). Validation and test sets stay unfiltered
    so scores remain comparable with published ones. None turns a limit off.
    """
    cleaned = {}
    stats = {}
    for split, dataset in corpus.items():
        if split in length_filtered_splits:
            limits = {"max_length": max_length, "max_ratio": max_ratio}
        else:
            limits = {"max_length": None, "max_ratio": None}
        marked = dataset.map(_mark_drop_reasons, batched=True, fn_kwargs=limits)
        reasons = marked.with_format("arrow")[:]["drop_reason"].to_numpy()
        counts = np.bincount(reasons, minlength=4).tolist()
        stats[split] = CleaningStats(
            kept=counts[_KEEP],
            dropped_empty=counts[_EMPTY],
            dropped_too_long=counts[_TOO_LONG],
            dropped_ratio=counts[_RATIO],
        )
        kept = marked.filter(_is_kept, batched=True)
        cleaned[split] = kept.remove_columns("drop_reason")
        logger.info(
            "cleaned %s: kept %d of %d pairs; dropped %d with an empty side, "
            "%d over max_length %s, %d over max_ratio %s",
            split,
            stats[split].kept,
            dataset.num_rows,
            stats[split].dropped_empty,
            stats[split].dropped_too_long,
            limits["max_length"],
            stats[split].dropped_ratio,
            limits["max_ratio"],
        )
    return datasets.DatasetDict(cleaned), stats


def _mark_drop_reasons(
    batch: dict[str, list], max_length: int | None, max_ratio: float | None
) -> dict[str, list]:
    src = [text.strip() for text in batch["src"]]
    tgt = [text.strip() for text in batch["tgt"]]
    reasons = [_drop_reason(s, t, max_length, max_ratio) for s, t in zip(src, tgt)]
    return {"src": src, "tgt": tgt, "drop_reason": reasons}


def _is_kept(batch: dict[str, list]) -> list[bool]:
    return [reason == _KEEP for reason in batch["drop_reason"]]


def _drop_reason(src: str, tgt: str, max_length: int | None, max_ratio: float | None) -> int:
    if not src or not tgt:
        return _EMPTY
    src_words, tgt_words = len(src.split()), len(tgt.split())
    if max_length is not None and max(src_words, tgt_words) > max_length:
        return _TOO_LONG
    if max_ratio is not None and max(src_words, tgt_words) > max_ratio * min(src_words, tgt_words):
        return _RATIO
    return _KEEP

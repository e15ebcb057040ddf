"""Tagged sentences for sequence taggers (POS, NER): CoNLL-U and CoNLL/BIO column files.

Files are read line by line, so a bad file fails with an NmtError naming the file and line.
`load_tagging_corpus` turns them (or a hub dataset) into a DatasetDict of "tokens" and "tags";
`rewrite_tags` writes predicted tags back into a copy of a file's text.
"""

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import datasets

from nmt.data.textfile import numbered_lines
from nmt.errors import NmtError

logger = logging.getLogger(__name__)

TAGGING_FORMATS = ("conllu", "conll", "hub")
CONLLU_TAG_COLUMNS = {"upos": 3, "xpos": 4}
STRINGS = datasets.List(datasets.Value("string"))
TAGGED_FEATURES = datasets.Features({"tokens": STRINGS, "tags": STRINGS})


def is_bio_tagset(tags: Iterable[str]) -> bool:
    """True if every tag is O, B-* or I-*, and at least one is B-*."""
    tags = list(tags)
    return all(t == "O" or t.startswith(("B-", "I-")) for t in tags) and any(
        t.startswith("B-") for t in tags
    )


def uses_bio(tag_scheme: str, tags: Iterable[str]) -> bool:
    """Whether tags are scored (and CRF-constrained) as BIO entities; "auto" looks at the tags."""
    return tag_scheme == "bio" or (tag_scheme == "auto" and is_bio_tagset(tags))


def to_iob2(tags: Sequence[str]) -> list[str]:
    """BIO tags with every entity opened by B-: an I-X that does not continue an X entity (the
    IOB1 scheme writes I- there) becomes B-X. IOB2 tags come back unchanged."""
    converted: list[str] = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        converted.append(tag)
        previous = tag
    return converted


def iob1_tags(tag_sequences: Iterable[Sequence[str]]) -> int:
    """How many I- tags of these sentences open an entity (IOB1 style), which to_iob2 changes."""
    return sum(
        a != b for tags in tag_sequences for a, b in zip(tags, to_iob2(tags))
    )


class TaggedSentence(NamedTuple):
    tokens: list[str]
    tags: list[str] | None  # None when a column file has only the token column
    line: int  # 1-based line number of the sentence's first token line


def read_conllu(path: str | Path, tag_column: str | None = "upos") -> Iterator[TaggedSentence]:
    """Sentences of a CoNLL-U file: the syntactic words (integer IDs) with their UPOS or XPOS.

    Multiword-token ranges ("1-2") and empty nodes ("8.1") are skipped. None reads tokens only
    (tags stay None), for files whose tag column may be "_".
    """
    path = Path(path)
    index = None if tag_column is None else _conllu_index(tag_column)
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    for number, text, _ in numbered_lines(path):
        if not text.strip():
            if tokens:
                yield TaggedSentence(tokens, None if index is None else tags, start)
            tokens, tags = [], []
            continue
        if text.startswith("#"):
            continue
        where = f"{path}:{number}"
        fields = text.split("\t")
        if len(fields) != 10:
            if len(fields) < 10 and len(text.split()) == 10:
                raise NmtError(f"{where}: columns must be separated by tabs, not spaces")
            raise NmtError(f"{where}: expected 10 tab-separated columns, found {len(fields)}")
        word_id, form = fields[0], fields[1]
        if re.fullmatch(r"[1-9][0-9]*-[1-9][0-9]*|[0-9]+\.[1-9][0-9]*", word_id):
            continue  # a multiword token's range or an empty node
        if not re.fullmatch(r"[1-9][0-9]*", word_id):
            raise NmtError(f"{where}: invalid ID {word_id!r}")
        if int(word_id) != len(tokens) + 1:
            raise NmtError(f"{where}: expected ID {len(tokens) + 1}, found {word_id}")
        if not form:
            raise NmtError(f"{where}: empty FORM (column 2)")
        if index is not None:
            if fields[index] in ("", "_"):
                column = f"column {index + 1}, {str(tag_column).upper()}"
                raise NmtError(f"{where}: no tag ({column}, is {fields[index]!r})")
            tags.append(fields[index])
        start = start if tokens else number
        tokens.append(form)
    if tokens:
        yield TaggedSentence(tokens, None if index is None else tags, start)


def read_columns(
    path: str | Path, token_column: int = 0, tag_column: int = -1
) -> Iterator[TaggedSentence]:
    """Sentences of a whitespace-separated column file (CoNLL-2003, BIO), blank-line separated.

    "-DOCSTART-" lines are skipped. A file with a single column gives tokens only (tags None).
    """
    path = Path(path)
    tokens: list[str] = []
    tags: list[str] = []
    start = width = first_line = 0
    for number, text, _ in numbered_lines(path):
        fields = text.split()
        if not fields or fields[0] == "-DOCSTART-":
            if tokens:
                yield TaggedSentence(tokens, tags if width > 1 else None, start)
            tokens, tags = [], []
            continue
        if not width:
            width, first_line = len(fields), number
            for name, index in (("token", token_column), ("tag", tag_column)):
                if width > 1 and not -width <= index < width:
                    raise NmtError(f"{path}:{number}: no {name} column {index} in {width} columns")
        elif len(fields) != width:
            raise NmtError(
                f"{path}:{number}: found {len(fields)} columns, but line {first_line} has {width}"
            )
        start = start if tokens else number
        tokens.append(fields[token_column if width > 1 else 0])
        if width > 1:
            tags.append(fields[tag_column])
    if tokens:
        yield TaggedSentence(tokens, tags if width > 1 else None, start)


def _conllu_index(tag_column: str) -> int:
    """The 0-based CoNLL-U column of "upos" or "xpos"."""
    if tag_column not in CONLLU_TAG_COLUMNS:
        raise NmtError(f"unknown CoNLL-U tag column {tag_column!r}; choose upos or xpos")
    return CONLLU_TAG_COLUMNS[tag_column]


def column_index(tag_column: str) -> int:
    """The tag column of a column file: an int index given as a string; "upos" means -1."""
    if tag_column == "upos":
        return -1
    try:
        return int(tag_column)
    except ValueError:
        raise NmtError(f"conll tag column must be an integer, not {tag_column!r}") from None


def _tagged_examples(
    path: str, size: int, mtime_ns: int, format: str, tag_column: str
) -> Iterator[dict[str, list[str]]]:
    """Examples for Dataset.from_generator; size and mtime_ns only key the cache to the file."""
    if format == "conllu":
        sentences = read_conllu(path, tag_column)
    else:
        sentences = read_columns(path, tag_column=column_index(tag_column))
    count = 0
    for sentence in sentences:
        if sentence.tags is None:
            raise NmtError(f"{path}:{sentence.line}: no tag column (the file holds tokens only)")
        count += 1
        yield {"tokens": sentence.tokens, "tags": sentence.tags}
    if count == 0:
        raise NmtError(f"{path} holds no sentences")


def load_tagging_corpus(
    format: str,
    path: str,
    splits: Mapping[str, str],
    tag_column: str = "upos",
    hub_config: str | None = None,
    tokens_column: str = "tokens",
    cache_dir: str | None = None,
) -> datasets.DatasetDict:
    """Load tagged sentences as a DatasetDict with columns "tokens" and "tags" (lists of str).

    "conllu"/"conll": `path` is a directory and `splits` maps each split to a file in it.
    "hub": `path` is a dataset name or local folder for `datasets.load_dataset`; `splits` maps
    each split to a split of that dataset (empty: take them all), and `tag_column` names a column.
    """
    if format not in TAGGING_FORMATS:
        raise NmtError(
            f"unknown tagging format {format!r}; choose one of {', '.join(TAGGING_FORMATS)}"
        )
    if format == "hub":
        corpus = _load_hub(path, hub_config, splits, tokens_column, tag_column, cache_dir)
    else:
        _conllu_index(tag_column) if format == "conllu" else column_index(tag_column)
        files = {split: Path(path) / name for split, name in splits.items()}
        missing = [f"{split} {file}" for split, file in files.items() if not file.is_file()]
        if missing:
            raise NmtError(f"tagging corpus file(s) not found: {', '.join(missing)}")
        corpus = datasets.DatasetDict()
        for split, file in files.items():
            stat = file.stat()
            kwargs = {"path": str(file), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            kwargs |= {"format": format, "tag_column": tag_column}
            try:
                corpus[split] = datasets.Dataset.from_generator(
                    _tagged_examples, TAGGED_FEATURES, cache_dir=cache_dir, gen_kwargs=kwargs
                )
            except datasets.exceptions.DatasetGenerationError as error:
                if isinstance(error.__cause__, NmtError):
                    raise error.__cause__ from None
                raise
    sizes = ", ".join(f"{split} {dataset.num_rows}" for split, dataset in corpus.items())
    logger.info("loaded %s tagging corpus %s: %s sentences", format, path, sizes)
    return corpus


def _load_hub(
    name: str,
    hub_config: str | None,
    splits: Mapping[str, str],
    tokens_column: str,
    tag_column: str,
    cache_dir: str | None,
) -> datasets.DatasetDict:
    """Load a hub dataset (or local folder of data files) and pick out its tokens and tags."""
    try:
        loaded = datasets.load_dataset(name, hub_config, cache_dir=cache_dir)
    except Exception as error:  # network, unknown name or config, unsupported format, ...
        raise NmtError(
            f"could not load dataset {name!r} (config {hub_config!r}): {error}"
        ) from error
    renamed = {"dev": "validation", "valid": "validation"}
    loaded = {renamed.get(split, split): dataset for split, dataset in loaded.items()}
    corpus = datasets.DatasetDict()
    for split, source in (splits or {split: split for split in loaded}).items():
        source = source if source in loaded else renamed.get(source, source)
        if source not in loaded:
            raise NmtError(f"dataset {name!r} has no split {source!r}; it has {', '.join(loaded)}")
        dataset = loaded[source]
        missing = [
            column for column in (tokens_column, tag_column) if column not in dataset.column_names
        ]
        if missing:
            raise NmtError(
                f"dataset {name!r} split {source!r} has no column(s) {', '.join(missing)}; "
                f"its columns are {', '.join(dataset.column_names)}"
            )
        inner = getattr(dataset.features[tag_column], "feature", None)
        names = inner.names if isinstance(inner, datasets.ClassLabel) else None
        corpus[split] = dataset.map(
            _extract_tagged,
            batched=True,
            remove_columns=dataset.column_names,
            features=TAGGED_FEATURES,
            fn_kwargs={"tokens_column": tokens_column, "tag_column": tag_column, "names": names},
        )
    return corpus


def _extract_tagged(
    batch: dict[str, list], tokens_column: str, tag_column: str, names: list[str] | None
) -> dict[str, list]:
    tags = batch[tag_column]
    if names is not None:
        tags = [[names[tag] for tag in sentence] for sentence in tags]
    return {"tokens": batch[tokens_column], "tags": tags}


def rewrite_tags(
    path: str | Path, predictions: Sequence[Sequence[str]], format: str, tag_column: str = "upos"
) -> str:
    """The file's text with each token's tag replaced by its prediction; other lines unchanged.

    "conllu": the UPOS or XPOS column of integer-ID rows. "conll": the tag column, or a tab and
    the tag appended to a tokens-only file. Line endings are kept; a leading BOM is dropped.
    """
    path = Path(path)
    if format == "conllu":
        index = _conllu_index(tag_column)
        sentences = list(read_conllu(path, None))
    elif format == "conll":
        index = column_index(tag_column)
        sentences = list(read_columns(path, tag_column=index))
    else:
        raise NmtError(f"cannot rewrite tags of format {format!r}; choose conllu or conll")
    if len(sentences) != len(predictions):
        raise NmtError(f"{path}: {len(sentences)} sentences, but {len(predictions)} predicted")
    for sentence, predicted in zip(sentences, predictions):
        if len(predicted) != len(sentence.tokens):
            raise NmtError(
                f"{path}:{sentence.line}: {len(sentence.tokens)} tokens, "
                f"but {len(predicted)} predicted tags"
            )
        bad = [tag for tag in predicted if not tag or tag != "".join(tag.split())]
        if bad:
            raise NmtError(
                f"{path}:{sentence.line}: predicted tag {bad[0]!r} is empty or has spaces"
            )
    tags = iter([tag for predicted in predictions for tag in predicted])
    lines = []
    for _, text, ending in numbered_lines(path):
        fields = text.split("\t")
        if format == "conllu" and fields[0].isdigit():
            fields[index] = next(tags)
            text = "\t".join(fields)
        elif format == "conll" and text.split() and text.split()[0] != "-DOCSTART-":
            spans = list(re.finditer(r"\S+", text))
            if len(spans) == 1:
                text += "\t" + next(tags)
            else:
                span = spans[index]
                text = text[: span.start()] + next(tags) + text[span.end() :]
        lines.append(text + ending)
    return "".join(lines)

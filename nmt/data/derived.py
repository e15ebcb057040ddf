"""Things derived from a `datasets` split that are worth keeping between runs (a tokenizer
trained on it), stored beside the split's own cache files and named by its fingerprint, so
that a second run on the same data and settings finds them; and reading a big split's text
without lists of millions of strings."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import numpy as np


def derived_cache_dir(
    dataset: datasets.Dataset, kind: str, settings: dict[str, Any]
) -> Path | None:
    """The folder for `kind` made from `dataset` with `settings` (JSON-able), beside the dataset's
    cache files; None for a dataset held in memory, whose fingerprint is drawn anew in every
    process (nothing could find the folder again)."""
    if not dataset.cache_files:
        return None
    key = json.dumps({"data": dataset._fingerprint, **settings}, sort_keys=True)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return Path(dataset.cache_files[0]["filename"]).parent / f"nmt-{kind}-{digest}"


def store_copy(source: Path, cache: Path) -> None:
    """Copy the folder `source` to `cache`, which appears whole or not at all (a copy made
    beside it, then renamed; another process that got there first wins)."""
    staging = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    shutil.copytree(source, staging)
    try:
        staging.rename(cache)
    except OSError:  # already there
        shutil.rmtree(staging, ignore_errors=True)


def sample_rows(dataset: datasets.Dataset, max_rows: int | None, seed: int) -> datasets.Dataset:
    """At most `max_rows` rows drawn at random (in their dataset order); all when it has fewer."""
    if max_rows is None or dataset.num_rows <= max_rows:
        return dataset
    rows = np.random.default_rng(seed).choice(dataset.num_rows, size=max_rows, replace=False)
    return dataset.select(np.sort(rows))


def column_texts(dataset: datasets.Dataset, column: str, batch_size: int = 10_000) -> Iterator[str]:
    """The values of one column, read a batch at a time."""
    for batch in dataset.select_columns([column]).iter(batch_size=batch_size):
        yield from batch[column]

"""Splits of a `datasets` corpus that every task needs the same way."""

from __future__ import annotations

import logging

import datasets

from nmt.errors import NmtError

logger = logging.getLogger(__name__)


def hold_out_validation(
    corpus: datasets.DatasetDict, size: int, seed: int, where: str, unit: str
) -> None:
    """Move up to `size` (at most a tenth) of the training examples to a validation split."""
    size = min(size, corpus["train"].num_rows // 10)
    if size < 1:
        raise NmtError(
            f"{where}: the corpus has no validation split and too few training {unit} to hold "
            "some out"
        )
    held_out = corpus["train"].train_test_split(test_size=size, seed=seed)
    corpus["train"], corpus["validation"] = held_out["train"], held_out["test"]
    logger.info("no validation split: held out %d training %s for validation", size, unit)

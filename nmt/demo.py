"""`nmt demo`: generate the dates task, train a small attention model on it, translate held-out
examples and report BLEU — the whole pipeline in a few CPU minutes, with no download."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import sacrebleu

from nmt.config import load_config
from nmt.data.synthetic import write_task_splits
from nmt.run import train
from nmt.translate import Translator

logger = logging.getLogger(__name__)

DEMO_SIZES = {"train": 20_000, "validation": 500, "test": 500}


class DemoResult(NamedTuple):
    run_dir: Path
    bleu: sacrebleu.metrics.bleu.BLEUScore
    examples: list[tuple[str, str, str]]  # source, translation, reference


def free_run_name(output_dir: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`, ... : the first that does not exist, so no run is lost."""
    candidate, number = name, 1
    while (output_dir / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def run_demo(output_dir: str = "checkpoints", overrides: Sequence[str] = ()) -> DemoResult:
    output = Path(output_dir)
    data_dir = write_task_splits("dates", output / "demo-data", DEMO_SIZES, seed=0)
    config = load_config(
        "demo",
        [f"output_dir={output}", f"data.path={data_dir}", f"name={free_run_name(output, 'demo')}",
         *overrides],
    )  # fmt: skip
    run_dir = train(config)
    sources = (data_dir / "test.src").read_text("utf-8").splitlines()
    references = (data_dir / "test.tgt").read_text("utf-8").splitlines()
    translations = Translator.load(run_dir).translate(sources)
    bleu = sacrebleu.corpus_bleu(translations, [references])
    return DemoResult(run_dir, bleu, list(zip(sources, translations, references)))

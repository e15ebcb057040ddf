"""`nmt translate demo`: generate the dates task, train a small attention model on it, translate
held-out examples and report BLEU — the whole pipeline in a few CPU minutes, with no download."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import sacrebleu

from nmt.engine.rundir import free_run_name
from nmt.translation.config import load
from nmt.translation.predict import Translator
from nmt.translation.run import train
from nmt.translation.synthetic import write_task_splits

logger = logging.getLogger(__name__)

DEMO_SIZES = {"train": 20_000, "validation": 500, "test": 500}


class DemoResult(NamedTuple):
    run_dir: Path
    bleu: sacrebleu.metrics.bleu.BLEUScore
    examples: list[tuple[str, str, str]]  # source, translation, reference


def run_demo(output_dir: str = "checkpoints", overrides: Sequence[str] = ()) -> DemoResult:
    output = Path(output_dir)
    data_dir = write_task_splits("dates", output / "demo-data", DEMO_SIZES, seed=0)
    config = load(
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

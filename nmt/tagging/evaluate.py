"""`nmt tag evaluate`: tag a gold-labelled file with a model and score it (accuracy, per-tag
table, entity P/R/F1 for BIO), optionally writing report.json and report.md."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nmt.engine.rundir import check_output_dir, write_report_files
from nmt.errors import NmtError
from nmt.tagging.corpus import iob1_tags, to_iob2
from nmt.tagging.metrics import score_tags, top_confusions
from nmt.tagging.predict import Tagger, guess_format, read_sentences
from nmt.tagging.report import markdown_report

logger = logging.getLogger(__name__)


def evaluate_tagger(
    model_dir: str | Path,
    data_path: str | Path,
    file_format: str | None = None,
    tag_column: str | None = None,
    report_dir: str | Path | None = None,
    device: str = "cpu",
    batch_tokens: int = 4000,
) -> dict[str, Any]:
    """Scores of the model's tags for the tokens of `data_path` against the file's own tags.

    The format is guessed from the file name (else the model's training format), and the tag
    column is the one the model was trained on when the formats agree.
    """
    if report_dir is not None:
        check_output_dir(report_dir)
    tagger = Tagger.load(model_dir, device)
    trained = tagger.config.data
    file_format = file_format or guess_format(data_path)
    if file_format == "tokens":  # no CoNLL suffix: assume what the model was trained on
        file_format = trained.format if trained.format in ("conllu", "conll") else "conllu"
    if tag_column is None:
        same = file_format == trained.format
        tag_column = trained.tag_column if same else ("upos" if file_format == "conllu" else "-1")
    sentences = read_sentences(data_path, file_format, tag_column, with_tags=True)
    if not sentences:
        raise NmtError(f"{data_path} holds no sentences")
    if sentences[0].tags is None:
        raise NmtError(f"{data_path}: no tag column to score against (the file holds tokens only)")
    gold = [sentence.tags for sentence in sentences]
    changed = iob1_tags(gold) if tagger.bio else 0
    if changed:
        logger.info("%s: %d I- tags open an entity (IOB1): read as B- tags (IOB2)",
                    data_path, changed)  # fmt: skip
        gold = [to_iob2(tags) for tags in gold]
    predicted = tagger.tag([sentence.tokens for sentence in sentences], batch_tokens)
    scores = {
        "model": str(model_dir),
        "data": str(data_path),
        "format": file_format,
        "tag_column": tag_column,
        **score_tags(gold, predicted, tagger.bio),
        "confusions": top_confusions(gold, predicted),
    }
    if report_dir is not None:
        title = f"Tagging report: {Path(data_path).name}"
        write_report_files(report_dir, scores, markdown_report(scores, title))
    return scores

"""`nmt memnet evaluate`: answer a story file's questions with a trained reader; accuracy per
question type, and the addressing weights of a few examples (which sentences each hop read; for
the query-reduction reader, how much each sentence changed the question in each layer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmt.engine.rundir import check_output_dir, write_report_files
from nmt.errors import NmtError
from nmt.memnet.corpus import read_story_file, story_files
from nmt.memnet.metrics import accuracy_by_type
from nmt.memnet.predict import Reader
from nmt.memnet.report import markdown_report


def evaluate_reader(
    model_dir: str | Path,
    data_path: str | Path | None = None,
    report_dir: str | Path | None = None,
    examples: int = 3,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Scores of the reader on `data_path` (default: the run's test split)."""
    if report_dir is not None:
        check_output_dir(report_dir)
    reader = Reader.load(model_dir)
    if data_path is None:
        data_path = story_files(reader.config.data, Path(model_dir))["test"]
    rows = read_story_file(Path(data_path), story_format=reader.config.data.format)
    if not rows:
        raise NmtError(f"{data_path}: no questions to answer")
    found = reader.answer(rows, batch_size)
    correct = [f.answer == row["answer"] for f, row in zip(found, rows)]
    overall, by_type = accuracy_by_type(correct, [row.get("type", "all") for row in rows])
    max_sentences = reader.config.data.max_sentences
    scores: dict[str, Any] = {
        "model": str(model_dir), "data": str(data_path), "questions": len(rows),
        "accuracy": overall, "accuracy_by_type": by_type,
        "weights_per": reader.model.weights_per,  # "hop" (addressing) or "layer" (update gates)
        "examples": [_example(row, f.answer, f.weights, max_sentences)
                     for row, f in list(zip(rows, found))[:examples]],
    }  # fmt: skip
    if report_dir is not None:
        write_report_files(report_dir, scores, markdown_report(scores))
    return scores


def _example(row: dict, predicted: str, weights: list, max_sentences: int) -> dict[str, Any]:
    story = row["story"][-max_sentences:]
    offset = len(row["story"]) - len(story)
    return {
        "story": story, "question": row["question"], "answer": row["answer"],
        "predicted": predicted, "type": row.get("type", "all"),
        "supporting": [i - offset for i in row.get("supporting", []) if i >= offset],
        "weights": [[round(w, 3) for w in hop] for hop in weights],  # [hops][sentences]
    }  # fmt: skip

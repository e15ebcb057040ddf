"""`nmt classify evaluate`: classify a labelled file with a model and score it (accuracy,
macro-F1, per-class table, confusion matrix), optionally writing report.json, report.md,
confusion.png and, for attention pooling, the words the model looked at in a few examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nmt.classify.corpus import guess_format, read_labelled_file
from nmt.classify.metrics import classification_scores
from nmt.classify.predict import Classifier
from nmt.classify.report import CONFUSION_PLOT, markdown_report, plot_confusion
from nmt.engine.rundir import atomic_write, check_output_dir, write_report_files
from nmt.errors import NmtError


def evaluate_classifier(
    model_dir: str | Path,
    data_path: str | Path,
    file_format: str | None = None,
    report_dir: str | Path | None = None,
    examples: int = 5,
    device: str = "cpu",
) -> dict[str, Any]:
    """Scores of the model's labels for the texts of `data_path` against the file's own labels
    (the columns the model was trained with)."""
    if report_dir is not None:
        check_output_dir(report_dir)
    classifier = Classifier.load(model_dir, device)
    data = classifier.config.data
    rows = read_labelled_file(
        data_path, file_format or guess_format(data_path), data.text_column, data.label_column
    )
    if not rows:
        raise NmtError(f"{data_path}: holds no texts to classify")
    unknown = next((row for row in rows if row.label not in classifier.labels), None)
    if unknown is not None:
        raise NmtError(f"{data_path}:{unknown.line}: label {unknown.label!r} is not one the "
                       f"model knows ({', '.join(classifier.labels)})")  # fmt: skip
    predictions = classifier.classify([row.text for row in rows])
    gold = [row.label for row in rows]
    scores = {
        "model": str(model_dir), "data": str(data_path),
        **classification_scores(gold, [p.label for p in predictions], classifier.labels),
        "examples_shown": [
            {"line": row.line, "label": row.label, "predicted": p.label,
             "tokens": p.tokens, "weights": [round(w, 3) for w in p.weights]}
            for row, p in zip(rows, predictions) if p.weights is not None
        ][:examples],
    }  # fmt: skip
    if report_dir is not None:
        write_report_files(report_dir, scores, markdown_report(scores))
        figure = plot_confusion(scores["confusion"])
        atomic_write(Path(report_dir) / CONFUSION_PLOT,
                     lambda tmp: figure.savefig(tmp, format="png", dpi=100))  # fmt: skip
    return scores

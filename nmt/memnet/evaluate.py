"""`nmt memory evaluate`: answer a story file's questions with a trained reader; accuracy per
question type, and the addressing weights of a few examples (which sentences each hop read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nmt.checkpoint import atomic_write, write_json
from nmt.data.story_data import collate_stories, encode_story, read_story_file
from nmt.memnet.module import accuracy_by_type
from nmt.memnet.run import load_reader_dir, split_files


@torch.inference_mode()
def evaluate_reader(
    model_dir: str | Path,
    data_path: str | Path | None = None,
    report_dir: str | Path | None = None,
    examples: int = 3,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Scores of the reader on `data_path` (default: the run's test split)."""
    loaded = load_reader_dir(model_dir)
    if data_path is None:
        data_path = split_files(loaded.config, Path(model_dir))["test"]
    rows = read_story_file(Path(data_path))
    max_sentences = loaded.config.data.max_sentences
    predicted, weights = [], []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        batch = collate_stories([encode_story(loaded.vocab, row, max_sentences) for row in chunk])
        output = loaded.model(batch.story, batch.story_mask, batch.question)
        predicted += [loaded.vocab.answers[i] for i in output.logits.argmax(-1).tolist()]
        weights += [w[:, : int(m.sum())].tolist() for w, m in zip(output.weights, batch.story_mask)]
    correct = [p == row["answer"] for p, row in zip(predicted, rows)]
    overall, by_type = accuracy_by_type(correct, [row.get("type", "all") for row in rows])
    shown = list(zip(rows, predicted, weights))[:examples]
    scores: dict[str, Any] = {
        "model": str(model_dir), "data": str(data_path), "questions": len(rows),
        "accuracy": overall, "accuracy_by_type": by_type,
        "examples": [_example(row, answer, hops, max_sentences) for row, answer, hops in shown],
    }  # fmt: skip
    if report_dir is not None:
        write_json(Path(report_dir) / "report.json", scores)
        text = markdown_report(scores)
        atomic_write(Path(report_dir) / "report.md", lambda tmp: tmp.write_text(text, "utf-8"))
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


def format_scores(scores: dict[str, Any]) -> str:
    lines = [f"questions: {scores['questions']}  accuracy: {scores['accuracy']:.2f}"]
    lines += [f"  {kind}: {value:.2f}" for kind, value in scores["accuracy_by_type"].items()]
    return "\n".join(lines)


def markdown_report(scores: dict[str, Any]) -> str:
    parts = [f"# Memory-network report: {Path(scores['data']).name}", "",
             "| question type | accuracy |", "|---|---:|"]  # fmt: skip
    parts += [f"| {k} | {v:.2f} |" for k, v in scores["accuracy_by_type"].items()]
    parts += [f"| **all** | **{scores['accuracy']:.2f}** |", ""]
    for number, example in enumerate(scores["examples"], start=1):
        hops = len(example["weights"])
        parts += [
            f"## Example {number} ({example['type']})", "",
            f"{example['question']} answer: {example['answer']}, predicted: "
            f"{example['predicted']}. Supporting sentences are marked *.", "",
            "| # | sentence | " + " | ".join(f"hop {h + 1}" for h in range(hops)) + " |",
            "|---|---|" + "---:|" * hops,
        ]  # fmt: skip
        for i, sentence in enumerate(example["story"]):
            mark = "*" if i in example["supporting"] else ""
            cells = " | ".join(f"{hop[i]:.2f}" for hop in example["weights"])
            parts.append(f"| {i}{mark} | {sentence} | {cells} |")
        parts.append("")
    return "\n".join(parts)

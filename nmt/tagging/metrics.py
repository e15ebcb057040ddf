"""Tagging scores: token accuracy, per-tag precision/recall/F1, and entity-level (span) scores
for BIO tags, where an entity counts only if its type and both boundaries are right."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from nmt.engine.scores import precision_recall_f1
from nmt.errors import NmtError

Span = tuple[str, int, int]  # entity type, first token, one past the last token


def bio_spans(tags: Sequence[str]) -> list[Span]:
    """Entities of one sentence's BIO tags. An I-X that does not continue an X entity starts a
    new one (the CoNLL evaluation script's convention), so every tag sequence has a reading."""
    spans: list[Span] = []
    current: list[Any] | None = None  # [type, start]
    for position, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        continues = prefix == "I" and current is not None and current[0] == kind
        if current is not None and not continues:
            spans.append((current[0], current[1], position))
            current = None
        if prefix == "B" or (prefix == "I" and not continues):
            current = [kind, position]
    return spans


def _new_counts() -> dict[str, Counter[str]]:
    return {"correct": Counter(), "pred": Counter(), "gold": Counter()}


def _rows(counts: dict[str, Counter[str]]) -> dict[str, dict[str, float]]:
    """One `_row` per key (tag or entity type) seen in the gold or predicted counts."""
    return {
        key: precision_recall_f1(counts["correct"][key], counts["pred"][key], counts["gold"][key])
        for key in sorted(counts["gold"] | counts["pred"])
    }


def score_tags(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], bio: bool
) -> dict[str, Any]:
    """Accuracy, per-tag scores and (with bio) entity scores, as percentages."""
    if len(gold) != len(predicted):
        raise NmtError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    counts = _new_counts()
    correct_tokens = total_tokens = 0
    for number, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted), start=1):
        if len(gold_tags) != len(predicted_tags):
            raise NmtError(
                f"sentence {number}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted"
            )
        for gold_tag, predicted_tag in zip(gold_tags, predicted_tags):
            counts["gold"][gold_tag] += 1
            counts["pred"][predicted_tag] += 1
            if gold_tag == predicted_tag:
                counts["correct"][gold_tag] += 1
                correct_tokens += 1
        total_tokens += len(gold_tags)
    scores: dict[str, Any] = {
        "sentences": len(gold),
        "tokens": total_tokens,
        "accuracy": 100 * correct_tokens / total_tokens if total_tokens else 0.0,
        "per_tag": _rows(counts),
    }
    if bio:
        scores["entities"] = _entity_scores(gold, predicted)
    return scores


def _entity_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, Any]:
    counts = _new_counts()
    for gold_tags, predicted_tags in zip(gold, predicted):
        gold_spans, predicted_spans = set(bio_spans(gold_tags)), set(bio_spans(predicted_tags))
        counts["gold"].update(span[0] for span in gold_spans)
        counts["pred"].update(span[0] for span in predicted_spans)
        counts["correct"].update(span[0] for span in gold_spans & predicted_spans)
    totals = [sum(counts[name].values()) for name in ("correct", "pred", "gold")]
    return {**precision_recall_f1(*totals), "per_type": _rows(counts)}


def top_confusions(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], count: int = 10
) -> list[dict[str, Any]]:
    """The most frequent (gold tag, predicted tag) errors."""
    errors = Counter(
        (gold_tag, predicted_tag)
        for gold_tags, predicted_tags in zip(gold, predicted)
        for gold_tag, predicted_tag in zip(gold_tags, predicted_tags)
        if gold_tag != predicted_tag
    )
    return [
        {"gold": gold_tag, "predicted": predicted_tag, "count": n}
        for (gold_tag, predicted_tag), n in errors.most_common(count)
    ]

"""`nmt lm score`: how well a language model predicts a text: the cross-entropy (nats per token),
perplexity and bits per token of each line and of all of them, or of the whole text read as one
stream (the state carried across lines, as validation reads it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from nmt.data.batching import length_batches
from nmt.data.special import PAD_ID
from nmt.lm.batch import collate_lines, parallel_streams, stream_ids
from nmt.lm.metrics import cross_entropy
from nmt.lm.run import LoadedLanguageModel, load_language_model_dir


@torch.inference_mode()
def score_lines(
    model_dir: str | Path | LoadedLanguageModel, lines: Sequence[str], batch_tokens: int = 8000
) -> dict[str, Any]:
    """Each line scored on its own (from a fresh state, the separator as its only context, its
    own separator the last target), and the total over all lines."""
    loaded = _loaded(model_dir)
    ids = [loaded.vocab.encode(line) for line in lines]
    nll = [0.0] * len(lines)
    for chunk in length_batches([[0, *row] for row in ids], len(ids), batch_tokens):
        batch = collate_lines([{"ids": ids[i]} for i in chunk], loaded.vocab.separator_id)
        state = loaded.model.initial_state(len(chunk))
        logits, _ = loaded.model(batch.inputs, state)
        losses = torch.nn.functional.cross_entropy(
            logits.float().transpose(1, 2), batch.targets, ignore_index=PAD_ID, reduction="none"
        ).sum(dim=1)
        for i, loss in zip(chunk, losses.tolist()):
            nll[i] = loss
    per_line = [
        {"line": number, **cross_entropy(loss, len(row) + 1)}
        for number, (loss, row) in enumerate(zip(nll, ids), start=1)
    ]
    total = cross_entropy(sum(nll), sum(len(row) + 1 for row in ids))
    return {"units": loaded.vocab.units, "lines": per_line, "total": total}


@torch.inference_mode()
def score_stream(
    model_dir: str | Path | LoadedLanguageModel, lines: Sequence[str], streams: int = 16,
    bptt: int = 256,
) -> dict[str, Any]:  # fmt: skip
    """The text as one sequence (lines joined by separators), read by `streams` parallel
    streams with the state carried: every token but the first is predicted once."""
    loaded = _loaded(model_dir)
    ids = stream_ids([loaded.vocab.encode(line) for line in lines], loaded.vocab.separator_id)
    inputs, targets = parallel_streams(ids, min(streams, len(ids) - 1))
    state = loaded.model.initial_state(inputs.size(0))
    nll, count = 0.0, 0
    for start in range(0, inputs.size(1), bptt):
        logits, state = loaded.model(inputs[:, start : start + bptt], state)
        chunk_targets = targets[:, start : start + bptt]
        nll += float(torch.nn.functional.cross_entropy(
            logits.float().transpose(1, 2), chunk_targets, ignore_index=PAD_ID, reduction="sum"
        ))  # fmt: skip
        count += int((chunk_targets != PAD_ID).sum())
    return {"units": loaded.vocab.units, "total": cross_entropy(nll, count)}


def _loaded(model_dir: str | Path | LoadedLanguageModel) -> LoadedLanguageModel:
    if isinstance(model_dir, LoadedLanguageModel):
        return model_dir
    return load_language_model_dir(model_dir)

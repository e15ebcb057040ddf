"""Sentencepiece models (Kudo & Richardson, 2018) as every task uses them: trained in memory on
an iterator of texts with nmt's special ids, saved as NAME.model (and a readable NAME.vocab),
loaded back; the errors a user can fix are NmtErrors."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from nmt.data.special import BOS, BOS_ID, EOS, EOS_ID, PAD, PAD_ID, UNK, UNK_ID
from nmt.errors import NmtError

TRAINER_OPTIONS = dict(
    pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
    pad_piece=PAD, unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
    hard_vocab_limit=False,  # a tiny corpus yields fewer pieces than asked for instead of failing
    input_sentence_size=2_000_000, shuffle_input_sentence=True,  # sample big corpora
    num_threads=2, minloglevel=2,
)  # fmt: skip


def train_pieces(texts: Iterable[str], options: dict) -> spm.SentencePieceProcessor:
    """Train one sentencepiece model in memory with TRAINER_OPTIONS updated by `options`
    (vocab_size, model_type, character_coverage...); the errors users can fix become NmtErrors."""
    options = {**TRAINER_OPTIONS, **options}
    model_proto = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_writer=model_proto, **options
        )
    except RuntimeError as error:
        if "!sentences_.empty()" in str(error):
            raise NmtError("no sentences to train the tokenizer on") from None
        # sentencepiece: "Vocabulary size is smaller than required_chars. 10 vs 45. ..."
        match = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", str(error))
        if match is None:
            raise
        raise NmtError(
            f"vocab_size={match[1]} is too small for this corpus: the 4 special pieces and its "
            f"characters need at least {match[2]} (or lower character_coverage)"
        ) from None
    return spm.SentencePieceProcessor(model_proto=model_proto.getvalue())


def load_pieces(path: Path) -> spm.SentencePieceProcessor:
    try:
        return spm.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as error:
        raise NmtError(f"{path}: not a readable sentencepiece model ({error})") from None


def write_pieces(model: spm.SentencePieceProcessor, prefix: Path) -> None:
    """Write `{prefix}.model` and `{prefix}.vocab` (piece and score per line, as spm_train does)."""
    prefix.with_suffix(".model").write_bytes(model.serialized_model_proto())
    lines = (
        f"{model.id_to_piece(i)}\t{model.get_score(i):g}\n" for i in range(model.get_piece_size())
    )
    prefix.with_suffix(".vocab").write_text("".join(lines), encoding="utf-8")


def check_special_ids(model: spm.SentencePieceProcessor) -> None:
    """Refuse a model whose special ids differ from ours: batching and search rely on them."""
    found = {PAD_ID: model.pad_id(), UNK_ID: model.unk_id(), BOS_ID: model.bos_id(),
             EOS_ID: model.eos_id()}  # fmt: skip
    if any(expected != actual for expected, actual in found.items()):
        raise NmtError(
            f"sentencepiece model has special ids pad/unk/bos/eos = {list(found.values())}, "
            f"expected {list(found)}; train it with nmt (nmt.data.pieces.train_pieces)"
        )

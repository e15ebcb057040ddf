"""Tagging with a trained model: token lists in, tag lists out, in length-sorted batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from nmt.data.batching import length_batches
from nmt.data.textfile import read_lines
from nmt.errors import NmtError
from nmt.tagging.batch import collate_tagging, encode_sentences
from nmt.tagging.corpus import (
    TaggedSentence,
    column_index,
    read_columns,
    read_conllu,
    rewrite_tags,
)  # fmt: skip
from nmt.tagging.run import LoadedTagger, load_tagger_dir

FILE_FORMATS = ("tokens", "conllu", "conll")


class Tagger:
    """A loaded tagger; `tag` keeps the input order and gives every token exactly one tag."""

    def __init__(self, loaded: LoadedTagger, device: str | torch.device = "cpu") -> None:
        self.model = loaded.model
        self.vocab = loaded.vocab
        self.config = loaded.config
        self.bio = loaded.bio
        self.device = torch.device(device)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> Tagger:
        return cls(load_tagger_dir(run_dir, device), device)

    @torch.inference_mode()
    def tag(self, sentences: Sequence[Sequence[str]], batch_tokens: int = 4000) -> list[list[str]]:
        """Tags of each sentence (a list of tokens), in length-sorted batches of at most
        batch_tokens padded tokens; empty sentences get no tags."""
        results: list[list[str]] = [[] for _ in sentences]
        examples = encode_sentences(self.vocab, sentences)
        word_ids = [example["word_ids"] for example in examples]
        for chunk in length_batches(word_ids, batch_size=len(examples), batch_tokens=batch_tokens):
            batch = collate_tagging([examples[i] for i in chunk])
            scores = self.model.scores(batch.words.to(self.device), batch.chars.to(self.device),
                                       batch.lengths)  # fmt: skip
            predicted = self.model.decode(scores, batch.lengths).tolist()
            for index, ids, length in zip(chunk, predicted, batch.lengths.tolist()):
                results[index] = self.vocab.tag_names(ids[:length])
        return results


def token_sentences(lines: Sequence[str]) -> list[TaggedSentence]:
    """One sentence per line, tokens split at whitespace (an empty line is an empty sentence)."""
    return [TaggedSentence(line.split(), None, number) for number, line in enumerate(lines, 1)]


def read_sentences(
    path: str | Path, file_format: str, tag_column: str = "upos", with_tags: bool = False
) -> list[TaggedSentence]:
    """Sentences of a file. "tokens": one sentence per line, tokens split at whitespace;
    "conllu", "conll": CoNLL files, whose tags are read only `with_tags` (so unlabelled
    CoNLL-U with "_" tags can be tagged)."""
    if file_format == "tokens":
        return token_sentences(read_lines(path))
    if file_format == "conllu":
        return list(read_conllu(path, tag_column if with_tags else None))
    if file_format == "conll":
        return list(read_columns(path, tag_column=column_index(tag_column)))
    raise NmtError(f"unknown file format {file_format!r}; choose one of {', '.join(FILE_FORMATS)}")


def guess_format(path: str | Path) -> str:
    """conllu for *.conllu files, conll for other CoNLL-like names, else tokens."""
    suffix = Path(path).suffix.lower()
    if suffix == ".conllu":
        return "conllu"
    if suffix in (".conll", ".bio", ".iob", ".iob2"):
        return "conll"
    return "tokens"


def format_predictions(
    path: str | Path | None,
    predictions: Sequence[Sequence[str]],
    file_format: str,
    tag_column: str = "upos",
) -> str:
    """Output text: tags one sentence per line (tokens), or the input file with its tag column
    replaced by the predictions (conllu, conll; a tokens-only column file gains one)."""
    if file_format == "tokens" or path is None:
        return "".join(" ".join(tags) + "\n" for tags in predictions)
    return rewrite_tags(path, predictions, file_format, tag_column)

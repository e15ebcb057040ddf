"""Tagging with a trained model: token lists in, tag lists out, in length-sorted batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from nmt.data.conll import TaggedSentence, read_columns, read_conllu, rewrite_tags
from nmt.data.tagging import collate_tagging, encode_sentences
from nmt.data.textfile import read_lines
from nmt.errors import NmtError
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
        try:
            torch.empty(0, device=device)
        except (RuntimeError, AssertionError) as error:
            raise NmtError(f"--device {device}: {error}") from None
        return cls(load_tagger_dir(run_dir, device), device)

    @torch.inference_mode()
    def tag(
        self,
        sentences: Sequence[Sequence[str]],
        batch_tokens: int = 4000,
        on_batch: Callable[[int], object] | None = None,
    ) -> list[list[str]]:
        """Tags of each sentence (a list of tokens); empty sentences get no tags."""
        results: list[list[str]] = [[] for _ in sentences]
        examples = [e for e in encode_sentences(self.vocab, sentences) if e["word_ids"]]
        examples.sort(key=lambda example: len(example["word_ids"]), reverse=True)
        start = 0
        while start < len(examples):
            longest = len(examples[start]["word_ids"])
            size = max(1, batch_tokens // longest)
            chunk = examples[start : start + size]
            batch = collate_tagging(chunk)
            predicted = self.model.decode(
                batch.words.to(self.device), batch.chars.to(self.device), batch.lengths
            ).tolist()
            for index, ids, length in zip(batch.index.tolist(), predicted, batch.lengths.tolist()):
                results[index] = self.vocab.tag_names(ids[:length])
            start += len(chunk)
            if on_batch is not None:
                on_batch(len(chunk))
        return results


def read_sentences(
    path: str | Path, file_format: str, tag_column: str = "upos", with_tags: bool = False
) -> list[TaggedSentence]:
    """Sentences of a file. "tokens": one sentence per line, tokens split at whitespace;
    "conllu", "conll": CoNLL files, whose tags are read only `with_tags` (so unlabelled
    CoNLL-U with "_" tags can be tagged)."""
    if file_format == "tokens":
        return [
            TaggedSentence(line.split(), None, number)
            for number, line in enumerate(read_lines(path), start=1)
        ]
    if file_format == "conllu":
        return list(read_conllu(path, tag_column if with_tags else None))
    if file_format == "conll":
        return list(read_columns(path, tag_column=-1 if tag_column == "upos" else int(tag_column)))
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

"""The translator's vocabulary: sentencepiece subword models (Kudo & Richardson, 2018), joint or
one per language; train, save, load, encode, decode. Special ids are nmt's (nmt.data.special)."""

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import datasets
import sentencepiece as spm

from nmt.data.pieces import check_special_ids, load_pieces, train_pieces, write_pieces
from nmt.data.special import BOS_ID, EOS_ID, PAD_ID
from nmt.errors import NmtError

JOINT_NAME, SRC_NAME, TGT_NAME = "spm", "src", "tgt"  # model files: {name}.model and {name}.vocab


class SubwordTokenizer:
    """Source and target sentencepiece models (the same object when the vocabulary is joint)."""

    def __init__(
        self, src_model: spm.SentencePieceProcessor, tgt_model: spm.SentencePieceProcessor
    ):
        for model in (src_model, tgt_model):
            check_special_ids(model)
        self.src_model = src_model
        self.tgt_model = tgt_model

    @classmethod
    def train(
        cls,
        src_texts: Iterable[str],
        tgt_texts: Iterable[str],
        out_dir: str | Path,
        vocab_size: int = 8000,
        model_type: Literal["unigram", "bpe"] = "unigram",
        joint: bool = True,
        character_coverage: float = 1.0,
        seed: int = 0,
    ) -> "SubwordTokenizer":
        """Train on raw sentences and save the model(s) to out_dir (see `save` for the file names).

        vocab_size is an upper bound: a small corpus may give fewer pieces.
        """
        options = dict(
            vocab_size=vocab_size, model_type=model_type, character_coverage=character_coverage
        )
        spm.set_random_generator_seed(seed)
        if joint:
            src_model = tgt_model = train_pieces(itertools.chain(src_texts, tgt_texts), options)
        else:
            src_model = train_pieces(src_texts, options)
            tgt_model = train_pieces(tgt_texts, options)
        tokenizer = cls(src_model, tgt_model)
        tokenizer.save(out_dir)
        return tokenizer

    @classmethod
    def load(cls, directory: str | Path) -> "SubwordTokenizer":
        """Load what `save` wrote: `spm.model` (joint) or `src.model` and `tgt.model`."""
        directory = Path(directory)
        joint_path = directory / f"{JOINT_NAME}.model"
        src_path, tgt_path = directory / f"{SRC_NAME}.model", directory / f"{TGT_NAME}.model"
        if joint_path.is_file():
            model = load_pieces(joint_path)
            return cls(model, model)
        if src_path.is_file() and tgt_path.is_file():
            return cls(load_pieces(src_path), load_pieces(tgt_path))
        raise NmtError(
            f"{directory}: no sentencepiece model found; expected {joint_path.name} (joint "
            f"vocabulary) or {src_path.name} and {tgt_path.name} (separate vocabularies)"
        )

    def save(self, directory: str | Path) -> None:
        """Write the model file(s) and readable .vocab lists, replacing any tokenizer saved there.

        Lets a checkpoint directory carry its own tokenizer.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # Drop the other layout too, so that load is never ambiguous.
        for name in (JOINT_NAME, SRC_NAME, TGT_NAME):
            for suffix in (".model", ".vocab"):
                (directory / f"{name}{suffix}").unlink(missing_ok=True)
        if self.joint:
            write_pieces(self.src_model, directory / JOINT_NAME)
        else:
            write_pieces(self.src_model, directory / SRC_NAME)
            write_pieces(self.tgt_model, directory / TGT_NAME)

    @property
    def joint(self) -> bool:
        """True when source and target share one vocabulary."""
        return self.src_model is self.tgt_model

    @property
    def src_vocab_size(self) -> int:
        return self.src_model.get_piece_size()

    @property
    def tgt_vocab_size(self) -> int:
        return self.tgt_model.get_piece_size()

    def target_word_pieces(self) -> tuple[list[int], list[int]]:
        """Target piece ids that begin a word ("▁Kas") and that go on one ("se"), without the
        special, unknown and byte pieces (the bare boundary "▁" begins words it has no piece
        for)."""
        model = self.tgt_model
        starts, continuations = [], []
        for piece_id in range(model.get_piece_size()):
            if model.is_control(piece_id) or model.is_unknown(piece_id) or model.is_byte(piece_id):
                continue
            piece = model.id_to_piece(piece_id)
            if piece.startswith("\u2581"):
                starts.append(piece_id)
            else:
                continuations.append(piece_id)
        return starts, continuations

    def encode_src(self, texts: Sequence[str]) -> list[list[int]]:
        """Source ids with EOS_ID appended (the encoder sees where the sentence ends)."""
        return self.src_model.encode(list(texts), out_type=int, add_eos=True)

    def encode_tgt(self, texts: Sequence[str]) -> list[list[int]]:
        """Target ids without BOS/EOS: `collate_translation` adds them for tgt_in and tgt_out."""
        return self.tgt_model.encode(list(texts), out_type=int)

    def sample_src(self, texts: Sequence[str], alpha: float, nbest: int = -1) -> list[list[int]]:
        """Like encode_src, with one random segmentation per text (subword regularisation).
        One thread: sentencepiece's random generator starts afresh from its seed in every call
        and every thread, so a caller that wants new draws sets a new seed before each call."""
        return self.src_model.encode(
            list(texts), out_type=int, add_eos=True, enable_sampling=True, alpha=alpha,
            nbest_size=nbest, num_threads=1,
        )  # fmt: skip

    def sample_tgt(self, texts: Sequence[str], alpha: float, nbest: int = -1) -> list[list[int]]:
        """Like encode_tgt, with one random segmentation per text (subword regularisation)."""
        return self.tgt_model.encode(list(texts), out_type=int, enable_sampling=True,
                                     alpha=alpha, nbest_size=nbest, num_threads=1)  # fmt: skip

    def decode_src(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Detokenized source text; each row is cut at its first EOS, PAD and BOS are dropped."""
        return self.src_model.decode([_strip_specials(row) for row in ids])

    def decode_tgt(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Detokenized target text; each row is cut at its first EOS, PAD and BOS are dropped.

        Rows may be lists or 1-d tensors, e.g. the output of search.
        """
        return self.tgt_model.decode([_strip_specials(row) for row in ids])


def _strip_specials(row: Sequence[int]) -> list[int]:
    """Ids before the first EOS, without PAD and BOS."""
    ids = row.tolist() if hasattr(row, "tolist") else list(row)
    if EOS_ID in ids:
        ids = ids[: ids.index(EOS_ID)]
    return [i for i in ids if i != PAD_ID and i != BOS_ID]


class _EncodeBatch:
    """The batched mapper of `encode_corpus`; datasets hashes it (with the models) for its cache."""

    def __init__(self, tokenizer: SubwordTokenizer):
        self.tokenizer = tokenizer

    def __call__(self, batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        return {
            "src_ids": self.tokenizer.encode_src(batch["src"]),
            "tgt_ids": self.tokenizer.encode_tgt(batch["tgt"]),
            "index": indices,
        }


def encode_corpus(
    corpus: datasets.DatasetDict, tokenizer: SubwordTokenizer
) -> datasets.DatasetDict:
    """Add int32 id columns "src_ids" and "tgt_ids" and the row's "index" (where search puts its
    output back), keeping the raw "src"/"tgt" text.

    One pass of `Dataset.map`, so a second call with the same tokenizer reuses the cached result.
    """
    encoded = {}
    for name, split in corpus.items():
        missing = {"src", "tgt"} - set(split.column_names)
        if missing:
            raise NmtError(f"split {name!r} lacks column(s) {sorted(missing)}; it has "
                           f"{split.column_names}")  # fmt: skip
        features = split.features.copy()
        features["src_ids"] = datasets.List(datasets.Value("int32"))
        features["tgt_ids"] = datasets.List(datasets.Value("int32"))
        features["index"] = datasets.Value("int64")
        encoded[name] = split.map(
            _EncodeBatch(tokenizer), batched=True, with_indices=True, features=features,
            desc=f"encoding {name}",
        )  # fmt: skip
    return datasets.DatasetDict(encoded)

import os

import datasets
import pytest
import torch

from nmt.data.special import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from nmt.errors import NmtError
from nmt.translation.synthetic import make_pairs
from nmt.translation.vocab import SubwordTokenizer, encode_corpus

PAIRS = make_pairs("dates", 500, seed=0)
SRC = [src for src, _ in PAIRS]
TGT = [tgt for _, tgt in PAIRS]


@pytest.fixture(scope="module")
def joint_tokenizer(tmp_path_factory):
    return SubwordTokenizer.train(SRC, TGT, tmp_path_factory.mktemp("spm"), vocab_size=120)


@pytest.mark.parametrize(
    "joint, model_type", [(True, "unigram"), (False, "unigram"), (True, "bpe"), (False, "bpe")]
)
def test_round_trip_and_special_ids(tmp_path, joint, model_type):
    # Generators: train must not need to iterate its inputs twice.
    tokenizer = SubwordTokenizer.train(
        (s for s in SRC), (t for t in TGT), tmp_path, vocab_size=64, model_type=model_type,
        joint=joint,
    )  # fmt: skip
    assert tokenizer.joint is joint
    names = ["spm.model", "spm.vocab"]
    if not joint:
        names = ["src.model", "src.vocab", "tgt.model", "tgt.vocab"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    for model in (tokenizer.src_model, tokenizer.tgt_model):
        assert (model.pad_id(), model.unk_id(), model.bos_id(), model.eos_id()) == (0, 1, 2, 3)
        assert [model.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert tokenizer.src_vocab_size == tokenizer.tgt_vocab_size == 64
    src_ids, tgt_ids = tokenizer.encode_src(SRC), tokenizer.encode_tgt(TGT)
    assert all(ids[-1] == EOS_ID and EOS_ID not in ids[:-1] for ids in src_ids)
    assert all({BOS_ID, EOS_ID, PAD_ID, UNK_ID}.isdisjoint(ids) for ids in tgt_ids)
    assert tokenizer.decode_src(src_ids) == SRC
    assert tokenizer.decode_tgt(tgt_ids) == TGT


def test_decode_cuts_at_eos_and_drops_pad_and_bos(joint_tokenizer):
    ids = joint_tokenizer.encode_tgt(TGT[:2])
    rows = [[BOS_ID, *ids[0], EOS_ID, *ids[1], PAD_ID], [BOS_ID, *ids[1], PAD_ID, PAD_ID]]
    assert joint_tokenizer.decode_tgt(rows) == [TGT[0], TGT[1]]
    padded = torch.tensor([[*ids[0], EOS_ID, PAD_ID]])  # rows may be tensors (search output)
    assert joint_tokenizer.decode_tgt(padded) == [TGT[0]]
    assert joint_tokenizer.decode_src(joint_tokenizer.encode_src(SRC[:3])) == SRC[:3]


def test_vocab_larger_than_the_corpus_allows_is_capped(tmp_path):
    tokenizer = SubwordTokenizer.train(SRC[:50], TGT[:50], tmp_path, vocab_size=8000)
    assert 4 < tokenizer.src_vocab_size < 8000
    assert tokenizer.decode_tgt(tokenizer.encode_tgt(TGT[:50])) == TGT[:50]


@pytest.mark.parametrize("joint", [True, False])
def test_save_and_load_give_identical_encodings(tmp_path, joint):
    tokenizer = SubwordTokenizer.train(SRC, TGT, tmp_path / "train", vocab_size=90, joint=joint)
    tokenizer.save(tmp_path / "checkpoint")
    for directory in ("train", "checkpoint"):
        loaded = SubwordTokenizer.load(tmp_path / directory)
        assert loaded.joint is joint
        assert loaded.encode_src(SRC) == tokenizer.encode_src(SRC)
        assert loaded.encode_tgt(TGT) == tokenizer.encode_tgt(TGT)


def test_save_replaces_the_other_layout(tmp_path, joint_tokenizer):
    separate = SubwordTokenizer.train(SRC, TGT, tmp_path, vocab_size=90, joint=False)
    joint_tokenizer.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spm.model", "spm.vocab"]
    assert SubwordTokenizer.load(tmp_path).joint
    separate.save(tmp_path)
    assert not SubwordTokenizer.load(tmp_path).joint


def test_user_errors(tmp_path):
    with pytest.raises(NmtError, match="vocab_size=10 is too small"):
        SubwordTokenizer.train(SRC, TGT, tmp_path, vocab_size=10)
    with pytest.raises(NmtError, match="no sentences"):
        SubwordTokenizer.train(SRC, [], tmp_path, vocab_size=50, joint=False)
    with pytest.raises(NmtError, match="no sentencepiece model found"):
        SubwordTokenizer.load(tmp_path)
    (tmp_path / "spm.model").write_bytes(b"not a model")
    with pytest.raises(NmtError, match="not a readable sentencepiece model"):
        SubwordTokenizer.load(tmp_path)


def test_encode_corpus_adds_ids_and_reuses_the_cache(tmp_path, joint_tokenizer):
    # A dataset read from disk has cache files, like the real corpora loaded through `datasets`.
    corpus = datasets.DatasetDict(
        train=datasets.Dataset.from_dict({"src": SRC[:400], "tgt": TGT[:400]}),
        validation=datasets.Dataset.from_dict({"src": SRC[400:], "tgt": TGT[400:]}),
    )
    corpus.save_to_disk(tmp_path / "corpus")
    corpus = datasets.load_from_disk(tmp_path / "corpus")
    joint_tokenizer.save(tmp_path / "tokenizer")
    first = encode_corpus(corpus, joint_tokenizer)
    cache_times = [os.stat(f["filename"]).st_mtime_ns for f in first["train"].cache_files]
    # A tokenizer loaded from disk (as in a new process) hashes the same, so the cache is hit.
    second = encode_corpus(corpus, SubwordTokenizer.load(tmp_path / "tokenizer"))
    train = first["train"]
    assert train.column_names == ["src", "tgt", "src_ids", "tgt_ids", "index"]
    assert train["index"] == list(range(400))
    assert train["src"] == SRC[:400]
    assert train["src_ids"] == joint_tokenizer.encode_src(SRC[:400])
    assert first["validation"]["tgt_ids"] == joint_tokenizer.encode_tgt(TGT[400:])
    for name in ("train", "validation"):
        # Had datasets failed to hash the mapper, it would have drawn a random fingerprint.
        assert second[name]._fingerprint == first[name]._fingerprint
        assert second[name].cache_files == first[name].cache_files
    assert [os.stat(f["filename"]).st_mtime_ns for f in second["train"].cache_files] == cache_times
    with pytest.raises(NmtError, match="lacks column"):
        encode_corpus(datasets.DatasetDict(train=corpus["train"].remove_columns("tgt")),
                      joint_tokenizer)  # fmt: skip


def test_subword_sampling_resegments_training_batches_but_never_validation(tmp_path):
    """tokenizer.sampling_alpha: each time a training batch is drawn its words get a new random
    segmentation (that still spells the same text); validation keeps the best one."""
    from nmt.translation.config import load
    from nmt.translation.datamodule import TranslationDataModule
    from nmt.translation.synthetic import write_task_splits

    data = write_task_splits("lexicon", tmp_path / "data", {"train": 300, "validation": 20})
    config = load(None, [f"data.path={data}", "tokenizer.vocab_size=60",
                         "tokenizer.model_type=bpe", "tokenizer.sampling_alpha=0.3"])  # fmt: skip
    datamodule = TranslationDataModule(config.data, config.tokenizer, tmp_path / "tokenizer")
    datamodule.prepare_data()
    datamodule.setup()
    examples = [datamodule.encoded["train"][i] for i in range(32)]
    collate = datamodule.train_dataloader().collate_fn
    first, second = collate(examples), collate(examples)
    assert not torch.equal(first.src, second.src) or not torch.equal(first.tgt_out, second.tgt_out)
    tokenizer = datamodule.tokenizer
    for batch in (first, second):
        assert tokenizer.decode_src(batch.src.tolist()) == [e["src"] for e in examples]
        assert tokenizer.decode_tgt(batch.tgt_out.tolist()) == [e["tgt"] for e in examples]
    validation = next(iter(datamodule.val_dataloader()))
    best = tokenizer.encode_src(
        [datamodule.corpus["validation"]["src"][i] for i in validation.index.tolist()]
    )
    assert [row[: len(ids)] for row, ids in zip(validation.src.tolist(), best)] == best
    # pseudo-glossaries are matched in the best segmentation: the two do not combine
    both = load(None, [f"data.path={data}", "tokenizer.sampling_alpha=0.3",
                       "data.term_dictionary=terms.tsv"])  # fmt: skip
    with pytest.raises(NmtError, match="sampling_alpha and data.term_dictionary cannot be"):
        TranslationDataModule(both.data, both.tokenizer, tmp_path / "tokenizer2")

"""Taggers end to end: train on the package's generated tasks through `nmt tag`, then predict
and evaluate as a user would, and check the scores, the output shape and the error messages."""

import csv
import json
from pathlib import Path

import pytest
import torch

from nmt.cli import main
from nmt.tagging.batch import collate_tagging, encode_sentences
from nmt.tagging.config import TaggerModelConfig
from nmt.tagging.config import load as load_tagging_config
from nmt.tagging.corpus import read_columns, read_conllu, to_iob2
from nmt.tagging.evaluate import evaluate_tagger
from nmt.tagging.metrics import bio_spans
from nmt.tagging.model import build_tagger
from nmt.tagging.predict import Tagger
from nmt.tagging.run import resume as resume_tagger
from nmt.tagging.run import train as train_tagger
from nmt.tagging.synthetic import write_tagging_splits
from nmt.tagging.vocab import TaggingVocab

from .test_cli import run_nmt

SMALL = [
    "model.word_embedding_size=32", "model.char_embedding_size=16", "model.char_hidden_size=32",
    "model.hidden_size=64", "model.layers=1", "model.dropout=0.1", "optim.lr=0.005",
    "optim.schedule=constant", "trainer.progress_bar=false", "trainer.log_every_n_steps=10",
    "trainer.early_stopping_patience=null",
]  # fmt: skip


@pytest.fixture(scope="session")
def pos_task(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pos")
    write_tagging_splits("pos", folder, {"train": 2000, "dev": 200, "test": 300}, seed=1)
    return folder


@pytest.fixture(scope="session")
def ner_task(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ner")
    write_tagging_splits("ner", folder, {"train": 1500, "dev": 150, "test": 300}, seed=2)
    return folder


@pytest.fixture(scope="session")
def pos_run(pos_task, tmp_path_factory) -> Path:
    """A softmax BiLSTM tagger trained on the generated POS task through the CLI (~20 s)."""
    out = tmp_path_factory.mktemp("pos_runs")
    code = main([
        "tag", "train", "-c", "ud_en_ewt_pos", f"data.path={pos_task}", f"output_dir={out}",
        "name=pos", "data.splits.train=train.conllu", "data.splits.validation=dev.conllu",
        "trainer.max_epochs=6", "trainer.max_minutes=null", *SMALL,
    ])  # fmt: skip
    assert code == 0
    return out / "pos"


@pytest.fixture(scope="session")
def ner_run(ner_task, tmp_path_factory) -> Path:
    """A BiLSTM-CRF trained on the generated BIO task (~25 s)."""
    config = load_tagging_config("conll_ner", [
        f"data.path={ner_task}", f"output_dir={tmp_path_factory.mktemp('ner_runs')}",
        "name=ner", "data.splits.train=train.bio", "data.splits.validation=dev.bio",
        "trainer.max_epochs=6", *SMALL,
    ])  # fmt: skip
    return train_tagger(config)


def test_softmax_tagger_learns_the_generated_pos_task(pos_run, pos_task, tmp_path, capsys):
    report = tmp_path / "report"
    code = main(
        ["tag", "evaluate", "-m", str(pos_run), "--data", str(pos_task / "test.conllu"),
         "--report", str(report)]
    )  # fmt: skip
    assert code == 0
    assert "token accuracy:" in capsys.readouterr().out
    scores = json.loads((report / "report.json").read_text())
    assert scores["accuracy"] >= 99.0, scores["confusions"]
    assert scores["sentences"] == 300
    assert set(scores["per_tag"]) >= {"NOUN", "VERB", "ADJ", "DET"}
    assert "| NOUN |" in (report / "report.md").read_text()
    assert "entities" not in scores  # UPOS is not a BIO tag set
    metadata = json.loads((pos_run / "metadata.json").read_text())
    assert metadata["best"]["val_acc"] >= 99.0 and metadata["bio"] is False


def test_crf_tagger_learns_entities_and_never_outputs_invalid_bio(ner_run, ner_task, tmp_path):
    scores_path = tmp_path / "report"
    assert main(["tag", "evaluate", "-m", str(ner_run), "--data", str(ner_task / "test.bio"),
                 "--report", str(scores_path)]) == 0  # fmt: skip
    scores = json.loads((scores_path / "report.json").read_text())
    assert scores["entities"]["f1"] >= 97.0, scores["entities"]
    assert set(scores["entities"]["per_type"]) == {"PER", "LOC", "ORG"}
    # "Jordan" and "Washington" are people or places by context: the tagger must tell them apart.
    tagger = Tagger.load(ner_run)
    first = ["Jordan", "lives", "in", "Jordan", "."]
    second = ["we", "flew", "from", "Washington", "to", "Paris", "with", "Ada", "Washington", "."]
    found = tagger.tag([first, second])
    assert found[0] == ["B-PER", "O", "O", "B-LOC", "O"]
    assert found[1] == ["O", "O", "O", "B-LOC", "O", "B-LOC", "O", "B-PER", "I-PER", "O"]
    # The CRF's constraints hold even on nonsense input where I- tags would be tempting.
    words = ["York", "Corp", "Nations", "Cross", "Lee", "Smith", "York", "at", "Corp"]
    for start in range(len(words)):
        for tags in tagger.tag([words[start:], words[:start] + ["Nations"]]):
            for previous, tag in zip(["O", *tags], tags):
                if tag.startswith("I-"):
                    assert previous in (f"B-{tag[2:]}", tag), (tags, words)


def as_iob1(text: str) -> str:
    """CoNLL column text with IOB1 tags: an entity starts with I- unless it follows one of its
    type (where IOB1 too writes B-)."""
    lines, previous = [], "O"
    for line in text.split("\n"):
        token, _, tag = line.rpartition("\t")
        if tag.startswith("B-") and previous[2:] != tag[2:]:
            line = f"{token}\tI-{tag[2:]}"
        lines.append(line)
        previous = tag if line else "O"
    return "\n".join(lines)


def test_iob1_data_is_read_as_iob2(ner_task, tmp_path, nmt_log):
    """With I- opening entities the CRF's transition constraints forbid the gold paths and its
    loss ran into the thousands; the data is now read as IOB2, and the log says so."""
    iob1 = tmp_path / "iob1"
    iob1.mkdir()
    for split in ("train", "dev", "test"):
        (iob1 / f"{split}.bio").write_text(as_iob1((ner_task / f"{split}.bio").read_text()))
    assert "\tI-PER\n" in (iob1 / "train.bio").read_text().split("\n\n")[0] + "\n"
    run_dir = train_tagger(load_tagging_config("conll_ner", [
        f"data.path={iob1}", f"output_dir={tmp_path}", "name=ner", "trainer.max_epochs=3",
        "data.splits.train=train.bio", "data.splits.validation=dev.bio", *SMALL,
    ]))  # fmt: skip
    assert "I- tags open an entity (IOB1): read as B- tags (IOB2)" in nmt_log.text
    best = json.loads((run_dir / "metadata.json").read_text())["best"]
    assert best["val_loss"] < 5 and best["val_f1"] >= 80, best
    scores = evaluate_tagger(run_dir, iob1 / "test.bio")
    assert scores["entities"]["f1"] >= 80 and scores["accuracy"] >= 90


def test_to_iob2_opens_every_entity_with_b():
    assert to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == [
        "B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG",
    ]  # fmt: skip
    assert to_iob2(["B-PER", "I-PER", "O"]) == ["B-PER", "I-PER", "O"]


def test_predict_keeps_sentence_and_token_counts(pos_run, pos_task, tmp_path):
    lines = ["the old dog will watch the light .", "", "Anna sees a book", "dog"]
    result = run_nmt("tag", "predict", "-m", str(pos_run), cwd=tmp_path,
                     stdin="\n".join(lines) + "\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    tagged = result.stdout.split("\n")[:-1]
    assert [len(t.split()) for t in tagged] == [len(line.split()) for line in lines]
    assert tagged[0] == "DET ADJ NOUN AUX VERB DET NOUN PUNCT"
    # CoNLL-U in, CoNLL-U out: gold tags blanked, the output has the same rows, tags filled in.
    gold = list(read_conllu(pos_task / "test.conllu"))
    blank = tmp_path / "blank.conllu"
    blank.write_text("".join(
        "\t".join(row.split("\t")[:3] + ["_"] + row.split("\t")[4:]) + "\n" if row else "\n"
        for row in (pos_task / "test.conllu").read_text().split("\n")[:-1]
    ))  # fmt: skip
    out = tmp_path / "tagged.conllu"
    assert main(["tag", "predict", "-m", str(pos_run), "-i", str(blank), "-o", str(out)]) == 0
    predicted = list(read_conllu(out))
    assert [s.tokens for s in predicted] == [s.tokens for s in gold]
    correct = sum(p == g for s, t in zip(predicted, gold) for p, g in zip(s.tags, t.tags))
    assert correct / sum(len(s.tokens) for s in gold) >= 0.99
    # A tokens-only column file gains a tag column.
    tokens_only = tmp_path / "tokens.conll"
    tokens_only.write_text("the\ndog\nsees\nAnna\n.\n\nAnna\nwill\nrun\n")
    assert main(["tag", "predict", "-m", str(pos_run), "-i", str(tokens_only),
                 "-o", str(out)]) == 0  # fmt: skip
    assert [s.tags for s in read_columns(out)] == [
        ["DET", "NOUN", "VERB", "PROPN", "PUNCT"],
        ["PROPN", "AUX", "VERB"],
    ]


def test_a_loaded_tagger_matches_the_trained_one_and_padding_does_not_leak(pos_run, pos_task):
    tagger = Tagger.load(pos_run)
    sentences = [s.tokens for s in read_conllu(pos_task / "test.conllu")][:40]
    one_by_one = [tagger.tag([tokens])[0] for tokens in sentences]
    assert tagger.tag(sentences, batch_tokens=10_000) == one_by_one
    # The scores of a sentence do not change when longer sentences pad it in a batch.
    batch = collate_tagging(encode_sentences(tagger.vocab, sentences))
    scores = tagger.model.scores(batch.words, batch.chars, batch.lengths)
    alone = collate_tagging(encode_sentences(tagger.vocab, [sentences[0]]))
    alone_scores = tagger.model.scores(alone.words, alone.chars, alone.lengths)
    assert torch.allclose(scores[0, : len(sentences[0])], alone_scores[0], atol=1e-5)


def test_char_lstm_and_cnn_taggers_ignore_padding():
    vocab = TaggingVocab.build([["Hello", "world", "!"], ["a", "b"]], [["X", "Y", "Z"]])
    sentences = [["Hello", "world"], ["Hello", "world", "!", "unseen", "wordsss"]]
    for encoder in ("cnn", "lstm"):
        config = TaggerModelConfig(char_encoder=encoder, hidden_size=8, word_embedding_size=4,
                                   char_embedding_size=4, char_hidden_size=6, layers=2)  # fmt: skip
        model = build_tagger(config, vocab, bio=False).eval()
        both = collate_tagging(encode_sentences(vocab, sentences))
        first = collate_tagging(encode_sentences(vocab, sentences[:1]))
        together = model.scores(both.words, both.chars, both.lengths)[0, :2]
        assert torch.allclose(together, model.scores(first.words, first.chars, first.lengths)[0])


def test_vocabulary_maps_rare_and_unknown_words_and_round_trips(tmp_path):
    vocab = TaggingVocab.build([["The", "cat", "the"], ["a", "cat"]], [["DET", "NOUN"]],
                               min_word_count=2)  # fmt: skip
    assert vocab.word_ids(["THE", "cat", "a", "dog"]) == [
        vocab.words.index("the"),
        vocab.words.index("cat"),
        1,
        1,
    ]
    vocab.save(tmp_path / "vocab.json")
    assert TaggingVocab.load(tmp_path / "vocab.json") == vocab


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["I-PER", "I-PER", "B-PER"], [("PER", 0, 2), ("PER", 2, 3)]),
        (["B-PER", "I-LOC", "O", "I-ORG"], [("PER", 0, 1), ("LOC", 1, 2), ("ORG", 3, 4)]),
        (["O", "O"], []),
    ],
)
def test_bio_spans(tags, spans):
    assert bio_spans(tags) == spans


def test_entity_scores_count_exact_spans_only():
    from nmt.tagging.metrics import score_tags

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]  # PER span cut short
    scores = score_tags(gold, predicted, bio=True)
    assert scores["accuracy"] == pytest.approx(100 * 5 / 6)
    entities = scores["entities"]
    assert entities["precision"] == pytest.approx(200 / 3)
    assert entities["recall"] == pytest.approx(200 / 3)
    assert entities["per_type"]["PER"]["f1"] == 0.0 and entities["per_type"]["LOC"]["f1"] == 100
    assert scores["per_tag"]["I-PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_resume_continues_a_tagging_run(pos_task, tmp_path):
    """From the tagger's defaults (no recipe): it resumes, and writes no step checkpoints (those
    are for averaging translators; a partly given trainer section used to bring them back)."""
    overrides = [
        f"data.path={pos_task}",
        f"output_dir={tmp_path}",
        "name=run",
        "data.splits.train=dev.conllu",
        "data.splits.validation=test.conllu",
        *SMALL,
    ]
    run_dir = train_tagger(load_tagging_config(None, [*overrides, "trainer.max_epochs=1"]))
    first = json.loads((run_dir / "metadata.json").read_text())["best"]["step"]
    resume_tagger(run_dir, ["trainer.max_epochs=2"])
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert first > 0 and metadata["best"]["step"] in (first, 2 * first)
    # The resumed run appends to the metrics of the first part instead of replacing them.
    with (run_dir / "logs" / "metrics.csv").open() as file:
        validations = [row for row in csv.DictReader(file) if row["val/acc"]]
    assert [int(row["epoch"]) for row in validations] == [0, 1]
    assert sorted(p.name for p in (run_dir / "lightning").iterdir()) == ["best.ckpt", "last.ckpt"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tag", "train", "-c", "demo"], "translation recipe, not a tagging one; run it with "
         "`nmt translate train"),
        (["train", "-c", "ud_en_ewt_pos"], "tagging recipe, not a translation one; run it with "
         "`nmt tag train"),
        (["memnet", "train", "-c", "conll_ner"], "run it with `nmt tag train"),
        (["tag", "train", "-c", "stories"], "run it with `nmt memnet train"),
        (["tag", "train", "-c", "ud_en_ewt_pos", "model.crf=maybe"], "model.crf: expected true"),
        (["tag", "predict", "-m", "no/such/dir"], "no/such/dir: no such checkpoint directory"),
    ],
)
def test_tagging_user_errors_are_one_clear_line(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_bad_input_files_name_the_file_and_line(pos_run, tmp_path, capsys):
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tthe\t_\tDET\t_\t_\t_\t_\t_\t_\n2 dog _ NOUN _ _ _ _ _ _\n")
    out = tmp_path / "out.conllu"
    out.write_text("keep me\n")
    assert main(["tag", "predict", "-m", str(pos_run), "-i", str(bad), "-o", str(out)]) == 2
    assert f"{bad}:2: " in capsys.readouterr().err
    assert out.read_text() == "keep me\n"  # nothing the user had is lost
    unlabelled = tmp_path / "unlabelled.conllu"
    unlabelled.write_text("1\tthe\t_\t_\t_\t_\t_\t_\t_\t_\n")
    assert main(["tag", "evaluate", "-m", str(pos_run), "--data", str(unlabelled)]) == 2
    assert f"{unlabelled}:1: " in capsys.readouterr().err

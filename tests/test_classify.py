"""Classification end to end: train on the package's keyword task through `nmt classify`, then
predict and evaluate as a user would; the pooling comparison that the task is built for; the
reports; bad input."""

import json
from pathlib import Path

import pytest
import torch

from nmt.classify.config import ClassifierModelConfig, ClassifyConfig, load
from nmt.classify.metrics import classification_scores
from nmt.classify.model import build_classifier
from nmt.classify.predict import Classifier
from nmt.classify.run import LoadedClassifier, fit_parts
from nmt.classify.synthetic import KEYWORDS, write_keyword_task
from nmt.classify.vocab import ClassifyVocab
from nmt.cli import main

SMALL = [
    "model.hidden_size=32", "model.word_embedding_size=16", "model.char_embedding_size=0",
    "model.dropout=0.1", "model.word_dropout=0.0", "optim.lr=0.005", "optim.schedule=constant",
    "trainer.max_minutes=null", "trainer.early_stopping_patience=null",
    "trainer.val_check_interval=1.0", "trainer.progress_bar=false",
]  # fmt: skip


@pytest.fixture(scope="module")
def keyword_task(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keywords")
    write_keyword_task(folder, {"train": 3000, "dev": 300, "test": 300}, seed=0)
    return folder


def train_classifier(task: Path, out: Path, name: str, *overrides: str) -> Path:
    assert main(["classify", "train", "-c", "sst2_bilstm", f"data.path={task}", f"output_dir={out}",
                 f"name={name}", *SMALL, *overrides]) == 0  # fmt: skip
    return out / name


@pytest.fixture(scope="module")
def attention_run(keyword_task, tmp_path_factory) -> Path:
    """A BiLSTM over words and characters with attention pooling (~10 s)."""
    out = tmp_path_factory.mktemp("classifiers")
    return train_classifier(keyword_task, out, "attention", "model.pooling=attention",
                            "model.char_embedding_size=8", "trainer.max_epochs=4")  # fmt: skip


def test_attention_pooling_learns_the_task_and_looks_at_the_keyword(
    attention_run, keyword_task, tmp_path, capsys
):
    report = tmp_path / "report"
    assert main(["classify", "evaluate", "-m", str(attention_run), "--data",
                 str(keyword_task / "test.tsv"), "--report", str(report),
                 "--examples", "20"]) == 0  # fmt: skip
    assert "accuracy: " in capsys.readouterr().out
    scores = json.loads((report / "report.json").read_text())
    assert scores["accuracy"] >= 98 and scores["macro_f1"] >= 98
    assert scores["examples"] == 300 and sum(map(sum, scores["confusion"]["matrix"])) == 300
    assert set(scores["per_class"]) == {"negative", "positive"}
    looked_at = [max(zip(e["weights"], e["tokens"]))[1] for e in scores["examples_shown"]]
    assert len(looked_at) == 20 and sum(token in KEYWORDS for token in looked_at) >= 18
    assert (report / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert "| gold \\ predicted | negative | positive |" in (report / "report.md").read_text()


@pytest.mark.parametrize(("pooling", "learns"), [("last", False), ("max", True)])
def test_a_plain_rnn_must_pool_to_see_a_word_twenty_steps_back(
    pooling, learns, keyword_task, tmp_path
):
    """The keyword is among the first three of 20-30 words: a unidirectional RNN's last state
    has lost it (about chance), max pooling over the positions finds it."""
    run = train_classifier(keyword_task, tmp_path, pooling, "model.cell=rnn",
                           "model.bidirectional=false", f"model.pooling={pooling}",
                           "trainer.max_epochs=6")  # fmt: skip
    accuracy = json.loads((run / "metadata.json").read_text())["best"]["val_acc"]
    assert accuracy >= 97 if learns else accuracy <= 70, accuracy


def test_a_dilated_causal_conv_encoder_learns_the_task_with_max_pooling(keyword_task, tmp_path):
    run = train_classifier(keyword_task, tmp_path, "conv", "model.cell=conv",
                           "model.pooling=max", "trainer.max_epochs=4")  # fmt: skip
    accuracy = json.loads((run / "metadata.json").read_text())["best"]["val_acc"]
    assert accuracy >= 97, accuracy


def test_checkpoints_that_name_the_encoder_rnn_still_load(attention_run):
    """Weights saved before the encoder could be a convolution sit under `rnn.`."""
    loaded = Classifier.load(attention_run)
    weights = loaded.model.state_dict()
    old = {k.replace("encoder.", "rnn.", 1) if k.startswith("encoder.") else k: v
           for k, v in weights.items()}  # fmt: skip
    assert any(k.startswith("rnn.") for k in old)
    fresh = build_classifier(loaded.config.model, loaded.vocab)
    fresh.load_state_dict(old)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, weights[key])


def test_pieces_units_train_and_predict_keeps_every_line(keyword_task, tmp_path, capsys):
    run = train_classifier(keyword_task, tmp_path, "pieces", "data.units=pieces",
                           "data.vocab_size=60", "trainer.max_epochs=3")  # fmt: skip
    assert (run / "pieces.model").is_file()
    capsys.readouterr()
    rows = (keyword_task / "test.tsv").read_text().split("\n")[1:6]
    texts = [row.split("\t")[0] for row in rows]
    lines = [texts[0], "", texts[1], texts[2]]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(lines) + "\n")
    assert main(["classify", "predict", "-m", str(run), "-i", str(source),
                 "--probabilities"]) == 0  # fmt: skip
    rows = capsys.readouterr().out.split("\n")[:-1]
    assert len(rows) == 4 and rows[1] == ""
    for row, text in zip([rows[0], rows[2], rows[3]], texts):
        label, *probabilities = row.split("\t")
        assert [p.split(":")[0] for p in probabilities] == ["negative", "positive"]
        assert sum(float(p.split(":")[1]) for p in probabilities) == pytest.approx(1, abs=1e-3)
        expected = next(KEYWORDS[w] for w in text.split()[:3] if w in KEYWORDS)
        assert label == expected


def test_a_loaded_classifier_gives_a_text_the_same_scores_alone_and_in_a_batch(attention_run):
    classifier = Classifier.load(attention_run)
    texts = ["good film " + "the " * n for n in range(1, 12)]
    together = classifier.classify(texts)
    for text, prediction in zip(texts, together):
        alone = classifier.classify([text])[0]
        assert alone.label == prediction.label
        torch.testing.assert_close(
            torch.tensor(alone.probabilities), torch.tensor(prediction.probabilities)
        )


@pytest.mark.parametrize("cell", ["lstm", "conv"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention"])
def test_every_pooling_ignores_padding(pooling, cell):
    vocab = ClassifyVocab.build(["a b c d", "e f"], ["x", "y"], "words", lowercase_words=True,
                                min_word_count=1, max_word_chars=30, vocab_size=0)  # fmt: skip
    config = ClassifierModelConfig(word_embedding_size=4, char_embedding_size=3, hidden_size=5,
                                   pooling=pooling, attention_size=3, layers=2,
                                   cell=cell)  # fmt: skip
    model = build_classifier(config, vocab).eval()
    classifier = Classifier(LoadedClassifier(model, vocab, ClassifyConfig(), {}), "cpu")
    short, long = classifier.classify(["a b", "a b c d e f a b"])
    assert classifier.classify(["a b"])[0].probabilities == pytest.approx(short.probabilities)
    assert long is not None


def test_balanced_class_weights_follow_the_training_labels(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rows = ["good film\tpositive"] * 90 + ["bad film\tnegative"] * 10
    (data / "train.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")
    (data / "dev.tsv").write_text("sentence\tlabel\ngood\tpositive\nbad\tnegative\n")
    run = train_classifier(data, tmp_path, "weighted", "model.class_weights=balanced",
                           "trainer.max_epochs=1")  # fmt: skip
    parts = fit_parts(load(str(run / "config.yaml")), run)
    parts.datamodule.setup()  # the run's saved vocabulary
    # 100 texts, 2 classes: 100 / (2 * 10) for the rare one, 100 / (2 * 90) for the other
    assert parts.module.build_class_weights().tolist() == pytest.approx([5.0, 100 / 180])


def test_scores_count_every_class_the_same_in_macro_f1():
    scores = classification_scores(["a", "a", "a", "b"], ["a", "a", "a", "a"], ["a", "b"])
    assert scores["accuracy"] == 75.0
    assert scores["per_class"]["b"]["f1"] == 0.0
    assert scores["macro_f1"] == pytest.approx(100 * (6 / 7) / 2)
    assert scores["confusion"]["matrix"] == [[3, 0], [1, 0]]

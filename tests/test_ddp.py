"""Two processes through Lightning's DDP on CPU (gloo), run as a user runs them: the data is
prepared once behind Lightning's barrier, and validation scores every example of the split,
gathered over both ranks (each rank's loader holds only its share)."""

import csv
import json
import random
import socket
import subprocess
import sys

import pytest
import sacrebleu
import torch

DDP = ["trainer.strategy=ddp", "trainer.devices=2", "trainer.accelerator=cpu",
       "trainer.progress_bar=false"]  # fmt: skip
NAMES = ["mary", "john", "sandra", "daniel"]
PLACES = ["kitchen", "garden", "office", "hallway", "bedroom"]


def nmt(*args: str, cwd, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nmt.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def trained_and_evaluated(task: str, train: list[str], data, tmp_path) -> tuple[dict, dict]:
    """`nmt TASK train TRAIN...` under DDP into tmp_path/ddp, then `nmt TASK evaluate` of that
    run on `data`: the run's best validation figures and the evaluation's report."""
    trained = nmt(task, "train", *train, f"output_dir={tmp_path}", "name=ddp", *DDP, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    best = json.loads((tmp_path / "ddp" / "metadata.json").read_text())["best"]
    report = tmp_path / "report"
    evaluated = nmt(task, "evaluate", "-m", str(tmp_path / "ddp"), "--data", str(data),
                    "--report", str(report), cwd=tmp_path)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    return best, json.loads((report / "report.json").read_text())


def even_stories(count: int, seed: int) -> list[dict]:
    """Stories whose sentences and questions all have four words, so that a question's answer
    does not depend on how the batch around it is padded."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        length = rng.randint(2, 6)
        story = [f"{rng.choice(NAMES)} went to {rng.choice(PLACES)}" for _ in range(length)]
        person = rng.choice([sentence.split()[0] for sentence in story])
        moves = [sentence.split()[-1] for sentence in story if sentence.startswith(person + " ")]
        kind = "one_move" if len(moves) == 1 else "more_moves"
        examples.append({"story": story, "question": f"where is {person} ?",
                         "answer": moves[-1], "type": kind})  # fmt: skip
    return examples


def test_memnet_validation_scores_every_question_of_the_split(tmp_path):
    data = tmp_path / "stories"
    data.mkdir()
    for split, count, seed in (("train", 600, 0), ("validation", 101, 1), ("test", 10, 2)):
        lines = [json.dumps(example) for example in even_stories(count, seed)]
        (data / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    best, scores = trained_and_evaluated(
        "memnet", ["-c", "stories", f"data.path={data}", "model.hops=1", "data.batch_size=16",
                   "trainer.max_epochs=1"], data / "validation.jsonl", tmp_path)  # fmt: skip
    assert scores["questions"] == 101 and 0 < scores["accuracy"] < 100
    # The score logged in training is the one of the whole split (one rank saw about half).
    assert best["val_acc"] == pytest.approx(scores["accuracy"])
    for kind, accuracy in scores["accuracy_by_type"].items():
        assert best[f"val_acc_{kind}"] == pytest.approx(accuracy, abs=1e-4)


def test_translation_trains_its_tokenizer_once_and_scores_the_whole_validation_split(
    reverse_task, tmp_path
):
    trained = nmt(
        "translate", "train", "-c", "demo", f"data.path={reverse_task}", f"output_dir={tmp_path}",
        "name=ddp", "tokenizer.vocab_size=60", "model.embedding_size=32",
        "model.encoder_hidden_size=32", "model.decoder_hidden_size=64", "data.batch_tokens=400",
        "optim.lr=0.005", "model.dropout=0.0", "trainer.max_epochs=4", *DDP, cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    run_dir = tmp_path / "ddp"
    # trained once for both ranks (or found, trained by an earlier test on the same data)
    reused = "trained on this corpus with these settings before"
    assert trained.stderr.count("training sentencepiece") + trained.stderr.count(reused) == 1
    # Both processes run the whole command; only rank 0 reports its progress.
    assert trained.stderr.count("INFO model: ") == 1, trained.stderr[-3000:]
    best = json.loads((run_dir / "metadata.json").read_text())["best"]
    sources = (reverse_task / "validation.src").read_text().splitlines()
    references = (reverse_task / "validation.tgt").read_text().splitlines()
    translated = nmt("translate", "predict", "-m", str(run_dir), "--beam", "1",
                     stdin="\n".join(sources) + "\n", cwd=tmp_path)  # fmt: skip
    assert translated.returncode == 0, translated.stderr[-3000:]
    bleu = sacrebleu.corpus_bleu(translated.stdout.splitlines(), [references]).score
    assert 0 < bleu < 100 and best["val_bleu"] == pytest.approx(bleu)


def test_two_nodes_started_by_torchrun_make_one_run(reverse_task, tmp_path):
    """The README's command for several machines, with both "nodes" on this one (one CPU
    process each, meeting over localhost): one job, one run directory, one tokenizer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1",
              "--master-addr=127.0.0.1", f"--master-port={port}"]  # fmt: skip
    train = ["--no-python", sys.executable, "-m", "nmt.cli", "translate", "train", "-c", "demo",
             f"data.path={reverse_task}", f"output_dir={tmp_path}", "name=job",
             "tokenizer.vocab_size=61", "model.embedding_size=16", "model.encoder_hidden_size=16",
             "model.decoder_hidden_size=32", "data.batch_tokens=400", "trainer.max_epochs=1",
             "trainer.num_nodes=2", "trainer.devices=1", "trainer.strategy=ddp",
             "trainer.accelerator=cpu", "trainer.progress_bar=false"]  # fmt: skip
    nodes = [
        subprocess.Popen([*launch, f"--node-rank={rank}", *train], cwd=tmp_path, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        for rank in (0, 1)
    ]
    outputs = [node.communicate(timeout=600) for node in nodes]
    for node, (_, stderr) in zip(nodes, outputs):
        assert node.returncode == 0, stderr[-3000:]
    logs = "".join(stderr for _, stderr in outputs)
    assert logs.count("training sentencepiece") == 1, logs[-3000:]
    assert [path.name for path in tmp_path.iterdir() if path.is_dir()] == ["job"]
    best = json.loads((tmp_path / "job" / "metadata.json").read_text())["best"]
    assert best["val_bleu"] >= 0 and (tmp_path / "job" / "model.pt").is_file()


def global_step(run_dir) -> int:
    return torch.load(run_dir / "lightning" / "last.ckpt", weights_only=True)["global_step"]


def test_ranks_share_an_epoch_only_rank_zero_writes_and_resume_continues(reverse_task, tmp_path):
    common = ["translate", "train", "-c", "demo", f"data.path={reverse_task}", "name=run",
              "tokenizer.vocab_size=60", "model.embedding_size=16", "model.encoder_hidden_size=16",
              "model.decoder_hidden_size=32", "data.batch_tokens=400", "trainer.max_epochs=1",
              "trainer.progress_bar=false"]  # fmt: skip
    one = nmt(*common, f"output_dir={tmp_path / 'one'}", cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-3000:]
    two = nmt(*common, f"output_dir={tmp_path / 'two'}", *DDP, cwd=tmp_path)
    assert two.returncode == 0, two.stderr[-3000:]
    # Each rank trains on its own half of the batches: an epoch takes half the updates.
    single_steps = global_step(tmp_path / "one" / "run")
    ddp_steps = global_step(tmp_path / "two" / "run")
    assert abs(ddp_steps - single_steps / 2) <= 1
    # One run directory, written once: rank 1 wrote no files of its own, nor metrics rows.
    assert [path.name for path in (tmp_path / "two").iterdir()] == ["run"]
    with (tmp_path / "two" / "run" / "logs" / "metrics.csv").open() as handle:
        rows = [(row["step"], row.get("train/loss")) for row in csv.DictReader(handle)]
    assert len(rows) == len(set(rows))
    resumed = nmt("translate", "train", "--resume", str(tmp_path / "two" / "run"),
                  "trainer.max_epochs=2", *DDP, cwd=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    checkpoint = torch.load(tmp_path / "two" / "run" / "lightning" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 1 and checkpoint["global_step"] == 2 * ddp_steps


def test_tagger_validation_under_ddp_scores_the_whole_split(tmp_path):
    from nmt.tagging.synthetic import write_tagging_splits

    data = tmp_path / "pos"
    write_tagging_splits("pos", data, {"train": 600, "dev": 101, "test": 10}, seed=1)
    best, scores = trained_and_evaluated(
        "tag", ["-c", "ud_en_ewt_pos", f"data.path={data}", "data.splits.train=train.conllu",
                "data.splits.validation=dev.conllu", "trainer.max_epochs=1",
                "trainer.max_minutes=null", "model.word_embedding_size=16",
                "model.char_embedding_size=8", "model.hidden_size=16"],
        data / "dev.conllu", tmp_path)  # fmt: skip
    assert best["val_acc"] == pytest.approx(scores["accuracy"])


def test_classifier_validation_under_ddp_scores_the_whole_split(tmp_path):
    from nmt.classify.synthetic import write_keyword_task

    from .test_classify import SMALL

    data = tmp_path / "keywords"
    write_keyword_task(data, {"train": 600, "dev": 101, "test": 10}, seed=0)
    best, scores = trained_and_evaluated(
        "classify", ["-c", "sst2_bilstm", f"data.path={data}", *SMALL, "trainer.max_epochs=1"],
        data / "dev.tsv", tmp_path)  # fmt: skip
    assert scores["examples"] == 101
    # Logged in training over the whole split (each rank's loader held about half of it).
    assert best["val_acc"] == pytest.approx(scores["accuracy"])


@pytest.mark.parametrize("task", ["lm", "forecast"])
def test_language_models_and_forecasters_train_under_ddp_into_one_run(task, tmp_path):
    """Two processes make one run directory with one validated model, as one process would."""
    if task == "lm":
        from nmt.lm.synthetic import write_pattern_text

        from .test_lm import SMALL

        write_pattern_text(tmp_path / "data", {"train": 200, "valid": 10})
        args = ["lm", "train", "-c", "tiny_shakespeare_char", f"data.path={tmp_path / 'data'}",
                "data.splits.train=train.txt", "data.splits.validation=valid.txt"]  # fmt: skip
        metric = "val_loss"
    else:
        from nmt.forecast.synthetic import write_sine_series

        from .test_forecast import SMALL

        series = write_sine_series(tmp_path / "sine.csv", steps=600, period=24, trend=0.004,
                                   noise=0.02)  # fmt: skip
        args = ["forecast", "train", "-c", "electricity_halfhourly", f"data.path={series}"]
        metric = "val_mae"
    out = tmp_path / "runs"
    trained = nmt(*args, f"output_dir={out}", "name=ddp", *SMALL, "trainer.max_epochs=2", *DDP,
                  cwd=tmp_path)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert [path.name for path in out.iterdir()] == ["ddp"]
    best = json.loads((out / "ddp" / "metadata.json").read_text())["best"]
    assert 0 < best[metric] < float("inf") and (out / "ddp" / "model.pt").is_file()

"""`nmt bench`: the figures exist, are consistent with what the other commands report, and bad
combinations are refused."""

import csv
import json
import resource
from pathlib import Path

import pytest
import sacrebleu
import torch

from nmt.cli import main
from nmt.engine.precision import lightning_precision
from nmt.search import SearchOptions
from nmt.translation.bench import format_report
from nmt.translation.predict import Translator


def rate_of(count: int, seconds: float, rate: float) -> bool:
    """Whether `rate` is `count` per `seconds`, as far as the report's rounding (seconds to 0.01,
    rates to 0.1) lets one tell."""
    return count / (seconds + 0.005) - 0.05 <= rate <= count / max(seconds - 0.005, 1e-9) + 0.05


def test_bench_measures_training_and_translation_of_a_trained_model(reversal_run, tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "-m", str(reversal_run), "--steps", "6", "--warmup", "2",
            "--sentences", "40", "--json", str(out)]  # fmt: skip
    assert main(args) == 0
    report = json.loads(out.read_text())
    training = report["training"]
    assert training["steps"] == 6 and training["precision"] == "32-true"
    assert rate_of(6, training["seconds"], training["steps_per_s"])
    # Real (unpadded) target tokens per update: under the 400-token batch budget of the run's
    # config, which counts padding; and as many source tokens as target ones, as the task
    # reverses each sentence (both sides count their EOS).
    tokens_per_step = training["tgt_tokens_per_s"] / training["steps_per_s"]
    assert 100 < tokens_per_step <= 400
    assert training["src_tokens_per_s"] == pytest.approx(training["tgt_tokens_per_s"], rel=0.1)
    for name in ("greedy", "beam5"):
        figures = report["translation"][name]
        assert figures["sentences"] == 40
        assert rate_of(40, figures["seconds"], figures["sentences_per_s"])
        # Output tokens per sentence: a trained reversal model writes about as many pieces
        # (and an EOS) as the test sources have; far more would mean runaway outputs.
        per_sentence = figures["tgt_tokens_per_s"] / figures["sentences_per_s"]
        assert 3 <= per_sentence <= 14
    assert "translation_note" not in report  # a trained model was measured
    # Without a GPU the model translates on the CPU and no GPU memory is reported.
    assert report["translation"]["device"] == "cpu" and "peak_gpu_mib_training" not in report
    assert report["machine"]["torch_threads"] >= 1 and "torch" in report["machine"]["versions"]
    # The peak resident memory of this process so far, which ran the benchmark in-process.
    peak_now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert 100 < report["peak_rss_mib"] <= peak_now + 1


def test_bench_quantized_translation_profile_and_training_only(reversal_run, tmp_path):
    out, profile = tmp_path / "bench.json", tmp_path / "profile.txt"
    assert main(["bench", "-m", str(reversal_run), "--steps", "4", "--warmup", "1",
                 "--sentences", "60", "--quantize", "--json", str(out)]) == 0  # fmt: skip
    report = json.loads(out.read_text())
    assert report["translation"]["beam5_int8"]["sentences"] == 60
    # A trained model's BLEU is reported for both, and int8 costs little on this task.
    assert report["bleu"]["score"] >= 90
    assert report["bleu_int8"]["score"] >= report["bleu"]["score"] - 5
    args = ["bench", "-m", str(reversal_run), "--steps", "4", "--warmup", "1", "--sentences", "0",
            "--profile", str(profile), "--json", str(out)]  # fmt: skip
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert "translation" not in report and report["training"]["profiled"]
    assert "aten::" in profile.read_text() and "4 training steps" in profile.read_text()


def test_bench_minutes_mode_reports_the_bleu_that_translate_and_sacrebleu_give(
    reverse_task, tmp_path
):
    overrides = [f"data.path={reverse_task}", f"output_dir={tmp_path}", "data.batch_tokens=400",
                 "tokenizer.vocab_size=60", "tokenizer.model_type=bpe", "model.embedding_size=32",
                 "model.encoder_hidden_size=32", "model.decoder_hidden_size=64",
                 "trainer.log_every_n_steps=10", "model.attention=luong",
                 "trainer.precision=bf16-mixed"]  # fmt: skip
    out = tmp_path / "bench.json"
    assert main(["bench", *overrides, "--minutes", "0.2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    sources = (reverse_task / "test.src").read_text().splitlines()
    references = (reverse_task / "test.tgt").read_text().splitlines()
    hypotheses = Translator.load(report["run_dir"]).translate(sources, SearchOptions(beam_size=5))
    assert report["bleu"]["score"] == round(
        sacrebleu.corpus_bleu(hypotheses, [references]).score, 2
    )
    # The training rate is the run's own: a mean of what its metrics log recorded.
    with (Path(report["run_dir"]) / "logs" / "metrics.csv").open() as handle:
        logged = [float(row["tok/s"]) for row in csv.DictReader(handle) if row.get("tok/s")]
    assert min(logged) <= report["training"]["tgt_tokens_per_s"] <= max(logged)
    # bf16-mixed where this CPU's oneDNN runs bfloat16 at all (AVX-512), else fp32 with a warning.
    assert report["training"]["precision"] == lightning_precision("bf16-mixed", "cpu")
    # peak memory per phase, none above the whole process's
    peaks = report["peak_rss_mib_phases"]
    assert {"tokenizer", "training", "validation", "translation"} <= set(peaks)
    assert 0 < min(peaks.values()) and max(peaks.values()) <= report["peak_rss_mib"] + 1
    assert "peak resident memory, validation (MiB)" in format_report(report)


def test_bench_refuses_minutes_with_a_trained_model(reversal_run, capsys):
    assert main(["bench", "-m", str(reversal_run), "--minutes", "1"]) == 2
    assert "cannot be combined with -m" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a CPU-only machine")
def test_bench_on_a_gpu_this_machine_lacks_says_so(reversal_run, capsys):
    assert main(["bench", "-m", str(reversal_run), "--steps", "2", "--device", "cuda"]) == 2
    assert "device cuda:" in capsys.readouterr().err

"""`nmt bench`: the figures exist, are consistent with what the other commands report, and bad
combinations are refused."""

import json

import sacrebleu

from nmt.cli import main
from nmt.search import SearchOptions
from nmt.translation.predict import Translator


def test_bench_measures_training_and_translation_of_a_trained_model(reversal_run, tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "-m", str(reversal_run), "--steps", "6", "--warmup", "2",
            "--sentences", "40", "--json", str(out)]  # fmt: skip
    assert main(args) == 0
    report = json.loads(out.read_text())
    assert report["training"]["steps"] == 6 and report["training"]["precision"] == "32-true"
    assert report["training"]["tgt_tokens_per_s"] > 0 and report["training"]["src_tokens_per_s"] > 0
    for name in ("greedy", "beam5"):
        figures = report["translation"][name]
        assert figures["sentences"] == 40 and figures["sentences_per_s"] > 0
    assert "translation_note" not in report  # a trained model was measured
    assert report["machine"]["torch_threads"] >= 1 and "torch" in report["machine"]["versions"]
    assert report["peak_rss_mib"] > 0


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
    assert report["training"]["tgt_tokens_per_s"] > 0
    assert report["training"]["precision"] == "bf16-mixed"


def test_bench_refuses_minutes_with_a_trained_model(reversal_run, capsys):
    assert main(["bench", "-m", str(reversal_run), "--minutes", "1"]) == 2
    assert "cannot be combined with -m" in capsys.readouterr().err

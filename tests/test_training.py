"""End-to-end training: tiny models learn tiny tasks; checkpoints reload and resume exactly."""

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import sacrebleu
import torch
from lightning.pytorch.callbacks import Timer

from nmt.engine import precision
from nmt.engine.config import OptimConfig
from nmt.engine.optim import BudgetDecay, build_optimization, inverse_sqrt_schedule
from nmt.engine.precision import cpu_has_bf16, lightning_precision
from nmt.engine.rundir import LIGHTNING_DIR, read_metadata
from nmt.errors import NmtError
from nmt.models.loss import smoothed_cross_entropy
from nmt.translation.predict import Translator
from nmt.translation.run import load_model_dir, resume, train

from .conftest import tiny_config


def read_split(folder: Path, split: str) -> tuple[list[str], list[str]]:
    return (
        (folder / f"{split}.src").read_text("utf-8").splitlines(),
        (folder / f"{split}.tgt").read_text("utf-8").splitlines(),
    )


def test_attention_model_learns_to_reverse(reversal_run, reverse_task):
    sources, references = read_split(reverse_task, "test")
    translations = Translator.load(reversal_run).translate(sources)
    exact = sum(t == r for t, r in zip(translations, references)) / len(references)
    assert exact >= 0.9, list(zip(sources, translations))[:5]
    assert sacrebleu.corpus_bleu(translations, [references]).score >= 95
    assert read_metadata(reversal_run)["best"]["val_bleu"] >= 95


def test_model_without_attention_learns_to_spell(spelling_task, tmp_path):
    config = tiny_config(
        spelling_task,
        tmp_path,
        "model.attention=none",
        "trainer.max_epochs=30",
        "data.batch_tokens=200",
    )
    run_dir = train(config)
    sources, references = read_split(spelling_task, "test")
    translations = Translator.load(run_dir).translate(sources)
    exact = sum(t == r for t, r in zip(translations, references)) / len(references)
    assert exact >= 0.9, list(zip(sources, translations))[:5]


def test_checkpoint_directory_reloads_to_identical_translations(reversal_run, reverse_task):
    sources, _ = read_split(reverse_task, "test")
    loaded = load_model_dir(reversal_run)
    weights = torch.load(reversal_run / "model.pt", weights_only=True)
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, weights[name])
    first = Translator(loaded).translate(sources)
    again = Translator.load(reversal_run).translate(sources)
    assert first == again
    assert {"config.yaml", "metadata.json", "model.pt", "tokenizer", "lightning"} <= {
        p.name for p in reversal_run.iterdir()
    }
    metadata = read_metadata(reversal_run)
    assert metadata["src_vocab_size"] == loaded.tokenizer.src_vocab_size
    assert metadata["versions"]["torch"] == torch.__version__


def test_resume_continues_exactly_where_training_stopped(reverse_task, tmp_path):
    """Two epochs, then resume for a third, must equal three epochs in one go: the optimiser
    moments, step and epoch counters all come back from the checkpoint."""
    extra = ("model.attention=bahdanau", "optim.schedule=inverse_sqrt", "optim.warmup_steps=20",
             "data.batch_tokens=2000")  # fmt: skip
    straight = train(tiny_config(reverse_task, tmp_path / "a", "trainer.max_epochs=3", *extra))
    interrupted = train(tiny_config(reverse_task, tmp_path / "b", "trainer.max_epochs=2", *extra))
    resumed = resume(interrupted, ["trainer.max_epochs=3"])
    expected = torch.load(straight / LIGHTNING_DIR / "last.ckpt", weights_only=True)
    got = torch.load(resumed / LIGHTNING_DIR / "last.ckpt", weights_only=True)
    assert got["epoch"] == expected["epoch"] == 2
    assert got["global_step"] == expected["global_step"] > 0
    for name, tensor in expected["state_dict"].items():
        torch.testing.assert_close(got["state_dict"][name], tensor, rtol=0, atol=1e-6)
    assert got["lr_schedulers"][0]["last_epoch"] == expected["lr_schedulers"][0]["last_epoch"]


def test_metrics_of_steps_trained_again_after_a_resume_appear_once(reverse_task, tmp_path):
    """A run killed after its last checkpoint logged steps that the resumed run trains again:
    metrics.csv keeps the rows up to the checkpoint's step and then the resumed run's."""
    extra = ("trainer.log_every_n_steps=1", "trainer.val_check_interval=4")
    run_dir = train(tiny_config(reverse_task, tmp_path, "trainer.max_steps=4", *extra))
    at_step_4 = (run_dir / LIGHTNING_DIR / "last.ckpt").read_bytes()
    resume(run_dir, ["trainer.max_steps=7"])  # the run that will be "killed" after step 7
    (run_dir / LIGHTNING_DIR / "last.ckpt").write_bytes(at_step_4)  # its last checkpoint
    resume(run_dir, ["trainer.max_steps=10"])
    with (run_dir / "logs" / "metrics.csv").open() as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("train/loss")]
    assert steps == sorted(set(steps)) and steps[-1] == 9 and 5 in steps


def test_a_run_stopped_before_its_first_checkpoint_starts_again(reverse_task, tmp_path, nmt_log):
    """What a run writes before its first validation (tokenizer, config) is no run to keep:
    `train -c` and `--resume` start it again (and say so); files no run writes are kept."""
    config = tiny_config(reverse_task, tmp_path, "trainer.max_steps=3")
    (config.run_dir / "tokenizer").mkdir(parents=True)
    (config.run_dir / "tokenizer" / "spm.model").write_text("from a run killed mid-training")
    (config.run_dir / ".config.yaml.x1.tmp").write_text("half written")
    run_dir = train(config)
    assert "holds no checkpoint" in nmt_log.text
    assert (run_dir / "model.pt").is_file() and not (run_dir / ".config.yaml.x1.tmp").exists()
    for name in ("model.pt", "lightning", "metadata.json"):
        target = run_dir / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    resume(run_dir)  # config.yaml is there, no checkpoint: from the beginning
    assert (run_dir / "model.pt").is_file()
    (run_dir / "model.pt").unlink()
    shutil.rmtree(run_dir / "lightning")
    (run_dir / "notes.txt").write_text("mine")
    with pytest.raises(NmtError, match="holds files no run wrote \\(notes.txt\\)"):
        train(config)
    assert (run_dir / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_label_smoothing_matches_torch_in_value_and_gradient(smoothing):
    torch.manual_seed(0)
    logits, target = torch.randn(7, 11, requires_grad=True), torch.randint(0, 11, (7,))
    loss, nll = smoothed_cross_entropy(logits, target, smoothing)
    (gradient,) = torch.autograd.grad(loss, logits)
    expected = torch.nn.functional.cross_entropy(
        logits, target, label_smoothing=smoothing, reduction="sum"
    )
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(gradient, torch.autograd.grad(expected, logits)[0])
    torch.testing.assert_close(
        nll, torch.nn.functional.cross_entropy(logits, target, reduction="sum")
    )


def test_inverse_sqrt_schedule_warms_up_then_decays():
    factor = inverse_sqrt_schedule(100)
    assert factor(0) == pytest.approx(0.01)
    assert factor(99) == pytest.approx(1.0)
    assert factor(399) == pytest.approx(0.5)


def test_step_schedule_multiplies_the_rate_every_step_epochs():
    optim = OptimConfig(lr=0.01, schedule="step", step_epochs=3, plateau_factor=0.5)
    built = build_optimization([torch.nn.Parameter(torch.zeros(2))], optim, "val/acc")
    assert built["lr_scheduler"]["interval"] == "epoch"
    rates = []
    for _ in range(7):
        rates.append(built["optimizer"].param_groups[0]["lr"])
        built["optimizer"].step()
        built["lr_scheduler"]["scheduler"].step()
    assert rates == pytest.approx([0.01] * 3 + [0.005] * 3 + [0.0025])


def test_budget_schedule_holds_the_rate_then_decays_to_the_minimum():
    decay = BudgetDecay(base_lr=1e-3, min_lr=1e-5, decay_fraction=0.25)
    assert decay.rate(1.0) == decay.rate(0.25) == 1e-3
    assert decay.rate(0.125) == pytest.approx((1e-3 + 1e-5) / 2)
    assert decay.rate(0.0) == pytest.approx(1e-5)


class StoppedClock(Timer):
    """Lightning's Timer, read at a chosen moment of a 60-second budget."""

    def __init__(self, elapsed: float) -> None:
        super().__init__(duration={"seconds": 60})
        self.elapsed = elapsed

    def time_elapsed(self, stage="train") -> float:
        return self.elapsed

    def time_remaining(self, stage="train") -> float:
        return 60 - self.elapsed


def test_budget_schedule_sets_each_steps_rate_from_the_time_left():
    """Before every step the rate follows the budget's clock (no real time involved)."""
    clock = StoppedClock(elapsed=0)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    trainer = SimpleNamespace(callbacks=[clock], optimizers=[optimizer])
    decay = BudgetDecay(base_lr=1e-3, min_lr=1e-5, decay_fraction=0.5)
    decay.on_fit_start(trainer, None)
    rates = []
    for clock.elapsed in (0, 20, 30, 45, 60):
        decay.on_train_batch_start(trainer, None, None, 0)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, (1e-3 + 1e-5) / 2, 1e-5])


def test_budget_schedule_finds_the_trainers_clock_and_holds_the_rate_early(reverse_task, tmp_path):
    """A run with a wall-clock budget far longer than its 12 steps trains at the base rate."""
    overrides = ["optim.schedule=budget", "optim.lr=0.001", "trainer.max_minutes=30",
                 "trainer.max_steps=12", "trainer.log_every_n_steps=1"]  # fmt: skip
    run_dir = train(tiny_config(reverse_task, tmp_path, *overrides))
    with (run_dir / "logs" / "metrics.csv").open() as handle:
        rates = [float(row["lr"]) for row in csv.DictReader(handle) if row.get("lr")]
    assert rates == pytest.approx([0.001] * 12)


def test_budget_schedule_without_a_budget_is_refused(reverse_task, tmp_path):
    with pytest.raises(NmtError, match="trainer.max_minutes"):
        train(tiny_config(reverse_task, tmp_path, "optim.schedule=budget"))


def test_last_checkpoint_follows_training_even_when_bleu_stalls(reverse_task, tmp_path):
    """With a learning rate of zero BLEU never improves after the first validation; last.ckpt
    must still hold the final step, or --resume would silently replay training."""
    run_dir = train(tiny_config(reverse_task, tmp_path, "optim.lr=0.0", "trainer.max_epochs=3",
                                "data.batch_tokens=2000"))  # fmt: skip
    last = torch.load(run_dir / LIGHTNING_DIR / "last.ckpt", weights_only=True)
    best = torch.load(run_dir / LIGHTNING_DIR / "best.ckpt", weights_only=True)
    assert last["epoch"] == 2 and last["global_step"] == 3 * best["global_step"]


def test_a_time_budget_that_ends_mid_epoch_still_leaves_a_resumable_state(reverse_task, tmp_path):
    run_dir = train(tiny_config(reverse_task, tmp_path, "trainer.max_steps=7",
                                "trainer.val_check_interval=5"))  # fmt: skip
    last = torch.load(run_dir / LIGHTNING_DIR / "last.ckpt", weights_only=True)
    assert last["global_step"] == 7


def test_weights_trained_after_the_last_validation_are_still_scored(reverse_task, tmp_path):
    """A budget that stops training before any validation must still leave a usable model."""
    run_dir = train(tiny_config(reverse_task, tmp_path, "trainer.max_steps=30",
                                "trainer.val_check_interval=1000"))  # fmt: skip
    assert read_metadata(run_dir)["best"]["step"] == 30
    assert len(Translator.load(run_dir).translate(["a b c", ""])) == 2


def test_bf16_mixed_precision_with_clipping_and_input_feeding_learns_to_reverse(
    reverse_task, tmp_path
):
    """bf16-mixed (autocast on this CPU) trains with gradient clipping and the fused optimiser,
    through the input-feeding step loop, and the fp32 weights it saves translate well."""
    config = tiny_config(
        reverse_task, tmp_path, "model.attention=bahdanau", "model.input_feeding=true",
        "trainer.precision=bf16-mixed", "trainer.gradient_clip_val=1.0", "trainer.max_epochs=15",
    )  # fmt: skip
    run_dir = train(config)
    weights = torch.load(run_dir / "model.pt", weights_only=True)
    assert all(tensor.dtype == torch.float32 for tensor in weights.values())
    sources, references = read_split(reverse_task, "test")
    translations = Translator.load(run_dir).translate(sources)
    assert sacrebleu.corpus_bleu(translations, [references]).score >= 90, translations[:5]


def test_precision_names_map_to_lightnings_and_auto_follows_the_cpu(monkeypatch, tmp_path):
    """`auto` is bf16-mixed exactly when the CPU has bfloat16 units, read from torch's CPU
    capabilities or, in a torch without them, from the kernel's flags."""
    assert lightning_precision("32") == "32-true"
    assert lightning_precision("16-mixed", "cpu") == "16-mixed"
    cases = [({"avx2": True, "amx_bf16": True}, True), ({"avx2": True, "avx512f": True}, False)]
    try:
        for capabilities, expected in cases:
            monkeypatch.setattr(torch.cpu, "get_capabilities", lambda c=capabilities: c)
            cpu_has_bf16.cache_clear()
            assert cpu_has_bf16() is expected
            assert lightning_precision("auto", "cpu") == ("bf16-mixed" if expected else "32-true")
        monkeypatch.delattr(torch.cpu, "get_capabilities")
        monkeypatch.setattr(precision, "CPUINFO", tmp_path / "cpuinfo")
        for flags, expected in (("fpu sse2 avx512_bf16", True), ("fpu sse2 avx2", False)):
            (tmp_path / "cpuinfo").write_text(f"processor : 0\nflags : {flags}\n")
            cpu_has_bf16.cache_clear()
            assert cpu_has_bf16() is expected
    finally:
        cpu_has_bf16.cache_clear()
    # An explicit bf16-mixed on a CPU whose oneDNN cannot run bfloat16 (no AVX-512) trains in fp32.
    monkeypatch.setattr(precision, "cpu_runs_bf16", lambda: False)
    assert lightning_precision("bf16-mixed", "cpu") == "32-true"
    monkeypatch.setattr(precision, "cpu_runs_bf16", lambda: True)
    assert lightning_precision("bf16-mixed", "cpu") == "bf16-mixed"

"""`nmt translate bench`: measure a recipe on this machine, to compare hardware and toolkits.

Training throughput is measured on the real training path (the Lightning module, optimiser step and
clipping of `nmt translate train`) over `steps` updates after `warmup` updates, validation
excluded: source and target tokens (no padding; EOS counted, as in the training log's tok/s) per
second of wall time. Translation throughput is sentences and output tokens per second of the search
loop (model loading excluded) over the first sentences of the test split, greedy and beam. With
`minutes`, a real run trains for that long instead, and the test BLEU of its best checkpoint is
reported, so quality per hour of this hardware can be compared. With `quantize` the beam search is
also measured with dynamic int8 weights (and its BLEU, for a trained model); `profile` writes a
torch.profiler table of the measured training steps.
"""

from __future__ import annotations

import csv
import json
import logging
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L
import sacrebleu
import torch

from nmt.data.special import PAD_ID
from nmt.engine.callbacks import PHASES_FILE
from nmt.engine.checkpoint import check_device, versions
from nmt.engine.phases import PhaseLog, peak_rss_mib
from nmt.engine.precision import lightning_precision, on_gpu
from nmt.engine.rundir import LOGS_DIR
from nmt.errors import NmtError
from nmt.search import SearchOptions
from nmt.translation.config import TranslationConfig
from nmt.translation.datamodule import TranslationDataModule
from nmt.translation.model import build_seq2seq
from nmt.translation.module import LitSeq2Seq
from nmt.translation.predict import Translator
from nmt.translation.run import TOKENIZER_DIR, LoadedModel, load_model_dir, train

logger = logging.getLogger(__name__)


class ThroughputProbe(L.Callback):
    """Counts tokens and time over the training steps after the first `warmup`."""

    def __init__(self, warmup: int, profiler: torch.profiler.profile | None = None) -> None:
        self.warmup = warmup
        self.profiler = profiler
        self.started: float | None = None
        self.ended: float | None = None
        self.src_tokens = self.tgt_tokens = self.steps = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        if trainer.global_step == self.warmup:
            self.started = now
            if self.profiler is not None:
                self.profiler.start()
        elif trainer.global_step > self.warmup:
            self.src_tokens += int(batch.src_lengths.sum())
            self.tgt_tokens += int((batch.tgt_out != PAD_ID).sum())
            self.steps += 1
            self.ended = now

    def on_train_end(self, trainer, pl_module) -> None:
        if self.profiler is not None and self.started is not None:
            self.profiler.stop()

    def rates(self) -> dict[str, float]:
        if self.started is None or self.ended is None or self.steps == 0:
            raise NmtError("the benchmark ended before any measured step; raise --steps or lower "
                           "--warmup (an epoch of this corpus may be shorter)")  # fmt: skip
        seconds = self.ended - self.started
        return {
            "steps": self.steps, "seconds": round(seconds, 2),
            "src_tokens_per_s": round(self.src_tokens / seconds, 1),
            "tgt_tokens_per_s": round(self.tgt_tokens / seconds, 1),
            "steps_per_s": round(self.steps / seconds, 3),
        }  # fmt: skip


def measure_training(
    config: TranslationConfig,
    datamodule: TranslationDataModule,
    steps: int,
    warmup: int,
    profile: Path | None = None,
) -> tuple[dict[str, float], torch.nn.Module]:
    """Steady-state training throughput of the recipe's model; returns the rates and the model.

    With `profile`, torch.profiler records the measured steps and its table of operators (by
    their own CPU time) is written there; the profiler's overhead lowers the rates of that run.
    """
    tokenizer = datamodule.tokenizer
    model = build_seq2seq(config.model, tokenizer.src_vocab_size, tokenizer.tgt_vocab_size)
    # A budget schedule needs a wall-clock budget; the learning rate does not change the speed.
    optim = (
        replace(config.optim, schedule="constant")
        if config.optim.schedule == "budget"
        else config.optim
    )
    module = LitSeq2Seq(
        lambda: model, optim, glossary_generator_loss=config.model.glossary_generator_loss
    )
    profiler = None
    if profile is not None:
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        profiler = torch.profiler.profile(activities=activities)
    probe = ThroughputProbe(warmup, profiler)
    precision = lightning_precision(config.trainer.precision, config.trainer.accelerator)
    trainer = L.Trainer(
        max_steps=warmup + steps, limit_val_batches=0, num_sanity_val_steps=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        accelerator=config.trainer.accelerator, devices=1,
        precision=precision,
        gradient_clip_val=config.trainer.gradient_clip_val, use_distributed_sampler=False,
        callbacks=[probe],
    )  # fmt: skip
    trainer.fit(module, datamodule=datamodule)
    rates = probe.rates() | {"precision": precision}
    if profiler is not None:
        sort_by = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
        table = profiler.key_averages().table(sort_by=sort_by, row_limit=40)
        profile.write_text(f"{steps} training steps after {warmup}, {config.name}\n{table}\n")
        rates["profiled"] = True
    return rates, model


def measure_translation(
    translator: Translator, sentences: list[str], beam: int, batch_size: int
) -> tuple[dict[str, float], list[str]]:
    """Sentences and output tokens per second of the search loop (loading excluded), and the
    translations."""
    options = SearchOptions(beam_size=beam, keep_attention=False)  # as `nmt translate` runs
    started = time.perf_counter()
    found = translator.translate_nbest(sentences, options, batch_size)
    seconds = time.perf_counter() - started
    tokens = sum(len(hyps[0].tgt_pieces) for hyps in found if hyps)
    figures = {
        "beam": beam, "batch_size": batch_size, "sentences": len(sentences),
        "seconds": round(seconds, 2), "sentences_per_s": round(len(sentences) / seconds, 1),
        "tgt_tokens_per_s": round(tokens / seconds, 1),
    }  # fmt: skip
    return figures, [hyps[0].text if hyps else "" for hyps in found]


def run_bench(
    config: TranslationConfig,
    model_dir: str | None = None,
    steps: int = 200,
    warmup: int = 20,
    beam: int = 5,
    batch_size: int = 64,
    sentences: int = 1000,
    minutes: float | None = None,
    profile: Path | None = None,
    quantize: bool = False,
    device: str | None = None,
) -> dict[str, Any]:
    """Every figure of `nmt translate bench` for one recipe (and optionally a trained checkpoint);
    `sentences=0` measures training only. Translation runs on `device`, by default the GPU where
    the trainer's accelerator takes one, else the CPU; on a GPU the peak GPU memory of training
    and of translation are reported apiece."""
    report: dict[str, Any] = {"recipe": config.name, "machine": machine()}
    device = str(check_device(device or ("cuda" if on_gpu(config.trainer.accelerator) else "cpu")))
    if model_dir and minutes is not None:
        raise NmtError("--minutes trains a new model; it cannot be combined with -m")
    loaded: LoadedModel | None = load_model_dir(model_dir) if model_dir else None
    L.seed_everything(config.trainer.seed, verbose=False)
    if minutes is not None:
        config.trainer.max_minutes = minutes
        config.trainer.progress_bar = False
        config.name = f"{config.name}-bench-{minutes:g}min"
        # Resolved here once, so the run's saved config records what it trained with.
        precision = lightning_precision(config.trainer.precision, config.trainer.accelerator)
        config.trainer.precision = precision
        run_dir = train(config)
        report["training"] = logged_rates(run_dir / LOGS_DIR / "metrics.csv") | {
            "precision": precision
        }
        report |= peak_gpu_mib("training")
        report["run_dir"] = str(run_dir)
        report["peak_rss_mib_phases"] = _phase_peaks(run_dir / LOGS_DIR / PHASES_FILE)
        loaded = load_model_dir(run_dir)
        datamodule = _datamodule(config, run_dir / TOKENIZER_DIR)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            tokenizer_dir = Path(model_dir) / TOKENIZER_DIR if model_dir else Path(scratch) / "tok"
            datamodule = _datamodule(config, tokenizer_dir)
            report["training"], model = measure_training(config, datamodule, steps, warmup, profile)
            report |= peak_gpu_mib("training")
        if sentences == 0:
            report["peak_rss_mib"] = round(peak_rss_mib())
            return report
        if loaded is None:  # an untrained model's outputs run to the length limit: say so
            report["translation_note"] = "untrained model (give -m DIR for realistic figures)"
            loaded = LoadedModel(model.eval(), datamodule.tokenizer, config, {})
    split = "test" if "test" in datamodule.corpus else "validation"
    data = datamodule.corpus[split].select(range(min(sentences, datamodule.corpus[split].num_rows)))
    sources, references = list(data["src"]), list(data["tgt"])
    translator = Translator(loaded, device)
    phases = PhaseLog()
    with phases.phase("translation"):
        greedy, _ = measure_translation(translator, sources, 1, batch_size)
        beamed, hypotheses = measure_translation(translator, sources, beam, batch_size)
    report.setdefault("peak_rss_mib_phases", {})["translation"] = (
        phases.phases["translation"]["peak_rss_mib"]
    )  # fmt: skip
    report["translation"] = {"split": split, "device": device, "greedy": greedy,
                             f"beam{beam}": beamed}  # fmt: skip
    report |= peak_gpu_mib("translation")
    trained = "translation_note" not in report
    if trained:
        report["bleu"] = _bleu(hypotheses, references, split, beam)
    if quantize:  # dynamic int8 kernels are CPU kernels
        int8 = Translator(loaded, "cpu", quantize=True)
        report["translation"][f"beam{beam}_int8"], hypotheses = measure_translation(
            int8, sources, beam, batch_size
        )
        if trained:
            report["bleu_int8"] = _bleu(hypotheses, references, split, beam)
    report["peak_rss_mib"] = round(peak_rss_mib())
    return report


def _bleu(hypotheses: list[str], references: list[str], split: str, beam: int) -> dict[str, Any]:
    metric = sacrebleu.BLEU()
    bleu = metric.corpus_score(hypotheses, [references])
    return {"split": split, "beam": beam, "score": round(bleu.score, 2),
            "signature": str(metric.get_signature())}  # fmt: skip


def _phase_peaks(path: Path) -> dict[str, int]:
    """Peak resident MiB of each phase a training run wrote to RUN/logs/phases.json."""
    phases = json.loads(path.read_text(encoding="utf-8"))["phases"]
    return {name: record["peak_rss_mib"] for name, record in phases.items()}


def peak_gpu_mib(phase: str) -> dict[str, int]:
    """The GPU memory the phase just ended held at its peak (tensors, not the allocator's cache),
    then the count starts again for the next phase; nothing without a GPU in use."""
    if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
        return {}
    peak = round(torch.cuda.max_memory_allocated() / 2**20)
    torch.cuda.reset_peak_memory_stats()
    return {f"peak_gpu_mib_{phase}": peak}


def _datamodule(config: TranslationConfig, tokenizer_dir: Path) -> TranslationDataModule:
    datamodule = TranslationDataModule(
        config.data, config.tokenizer, tokenizer_dir, seed=config.trainer.seed
    )
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def logged_rates(metrics: Path) -> dict[str, float]:
    """Mean training tok/s a run logged, its first tenth (warm-up) left out."""
    with metrics.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("tok/s")]
    rows = rows[len(rows) // 10 :]
    if not rows:
        return {}
    rates = {"tgt_tokens_per_s": round(statistics.mean(float(r["tok/s"]) for r in rows), 1)}
    src = [float(r["train/src_tok_per_s"]) for r in rows if r.get("train/src_tok_per_s")]
    if src:
        rates["src_tokens_per_s"] = round(statistics.mean(src), 1)
    return rates


def machine() -> dict[str, Any]:
    device = "cpu: " + (platform.processor() or platform.machine())
    if torch.cuda.is_available():
        device = f"cuda: {torch.cuda.get_device_name(0)}"
    return {"device": device, "torch_threads": torch.get_num_threads(), "versions": versions()}


def format_report(report: dict[str, Any]) -> str:
    """A small Markdown table of the figures."""
    training = report.get("training", {})
    rows = [
        ("device", report["machine"]["device"]),
        ("torch threads", report["machine"]["torch_threads"]),
        ("training precision", training.get("precision")),
        ("training target tokens/s", training.get("tgt_tokens_per_s")),
        ("training source tokens/s", training.get("src_tokens_per_s")),
    ]
    translation = report.get("translation", {})
    if translation.get("device", "cpu") != "cpu":
        rows.append(("translation device", translation["device"]))
    for name, figures in translation.items():
        if isinstance(figures, dict):
            rows.append((f"translate {name} (batch {figures['batch_size']}), sentences/s",
                         figures["sentences_per_s"]))  # fmt: skip
            rows.append((f"translate {name}, output tokens/s", figures["tgt_tokens_per_s"]))
    for key, label in (("bleu", ""), ("bleu_int8", ", int8")):
        if key in report:
            rows.append((f"{report[key]['split']} BLEU (beam {report[key]['beam']}{label})",
                         report[key]["score"]))  # fmt: skip
    rows.append(("peak resident memory (MiB)", report["peak_rss_mib"]))
    for phase, peak in report.get("peak_rss_mib_phases", {}).items():
        rows.append((f"peak resident memory, {phase} (MiB)", peak))
    for phase in ("training", "translation"):
        if f"peak_gpu_mib_{phase}" in report:
            rows.append((f"peak GPU memory, {phase} (MiB)", report[f"peak_gpu_mib_{phase}"]))
    if training.get("profiled"):
        rows.append(("training rates", "measured under the profiler (slower)"))
    lines = [f"| {report['recipe']} | |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    if "translation_note" in report:
        lines.append(f"\ntranslation: {report['translation_note']}")
    return "\n".join(lines)

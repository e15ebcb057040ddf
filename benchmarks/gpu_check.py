"""GPU check: on a machine with CUDA, train the WMT-size recipe (`wmt_en_de_gpu`) for a few minutes
with each attention / input-feeding path on a small local corpus, translate its test split with
beam 5 on the GPU, and run every other task's training and prediction on the GPU. Prints a
Markdown table (training tokens/s, translation sentences/s, peak GPU memory per phase, BLEU) and
writes the figures as JSON after every step, so a run cut short still leaves what it measured.

    python benchmarks/gpu_check.py --multi30k ../shared/data/multi30k \\
        --shakespeare ../shared/data/tinyshakespeare --sst2 ../shared/data/sst2 --minutes 1

The data folders are optional: a task whose data is not given is left out (tagging and the
memory reader use the package's generated tasks). Not part of the tests: CI has no GPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from nmt.translation.bench import logged_rates

TRANSLATION_PATHS = {
    "luong + input feeding": ["model.attention=luong", "model.input_feeding=true"],
    "bahdanau + input feeding": ["model.attention=bahdanau", "model.input_feeding=true"],
    "luong, no input feeding": ["model.attention=luong", "model.input_feeding=false"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multi30k", help="folder of train/val/test2016 .en/.de files")
    parser.add_argument("--shakespeare", help="folder with input.txt")
    parser.add_argument("--sst2", help="folder with train.tsv, dev.tsv, test.tsv")
    parser.add_argument("--minutes", type=float, default=1.0, help="training per translation path")
    parser.add_argument("--task-minutes", type=float, default=0.4, help="training per other task")
    parser.add_argument("--sentences", type=int, default=1000, help="test sentences translated")
    parser.add_argument("--out", default="checkpoints/gpu_check")
    parser.add_argument("--cpu", action="store_true", help="the same steps on the CPU (a dry run)")
    args = parser.parse_args()
    if not (args.cpu or torch.cuda.is_available()):
        sys.exit("gpu_check: torch sees no CUDA device here (--cpu runs the steps on the CPU)")
    args.device = "cpu" if args.cpu else "cuda"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gpu = not args.cpu
    results: dict = {
        "device": torch.cuda.get_device_name(0) if gpu else "cpu", "torch": torch.__version__,
        "bf16": torch.cuda.is_bf16_supported() if gpu else None, "steps": [],
    }  # fmt: skip
    print(f"{results['device']}, torch {results['torch']}, bf16 {results['bf16']}", flush=True)

    def record(step: dict) -> None:
        results["steps"].append(step)
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(step), flush=True)

    if args.multi30k:
        for name, overrides in TRANSLATION_PATHS.items():
            record(translation_path(name, overrides, args, out))
    device = [f"trainer.accelerator={'gpu' if gpu else 'cpu'}", "trainer.devices=1",
              f"trainer.max_minutes={args.task_minutes}", "trainer.progress_bar=false",
              f"output_dir={out}"]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        if args.shakespeare:
            record(language_model(args.shakespeare, device, out, args.device))
        if args.sst2:
            record(classifier(args.sst2, device, out, args.device))
        record(tagger(Path(scratch), device, out, args.device))
        record(memory_reader(device))
    print(table(results))


def nmt(*arguments: str, timeout: float = 600) -> tuple[int, float, str]:
    """Run one nmt command; its exit status, wall seconds and the end of its output."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "nmt.cli", *arguments]
    print("$ nmt", " ".join(arguments), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    tail = (done.stdout + done.stderr)[-1500:]
    if done.returncode:
        print(tail, flush=True)
    return done.returncode, round(time.perf_counter() - started, 1), tail


def translation_path(name: str, overrides: list[str], args: argparse.Namespace, out: Path) -> dict:
    tag = "-".join(o.split("=")[1] for o in overrides)
    figures = out / f"translate-{tag}.json"
    rc, seconds, tail = nmt(
        "translate", "bench", "-c", "wmt_en_de_gpu", "data.format=text",
        f"data.path={args.multi30k}", "data.splits.validation=val", "data.splits.test=test2016",
        "tokenizer.vocab_size=8000", "trainer.val_check_interval=1.0", f"output_dir={out}",
        f"name=wmt_en_de_gpu-{tag}", "trainer.log_every_n_steps=10",
        f"trainer.accelerator={'cpu' if args.cpu else 'gpu'}", *overrides,
        "--minutes", str(args.minutes), "--sentences", str(args.sentences),
        "--device", args.device, "--json", str(figures),
    )  # fmt: skip
    step = {"step": f"translate: {name}", "rc": rc, "wall_s": seconds}
    if rc or not figures.exists():
        return step | {"error": tail}
    report = json.loads(figures.read_text())
    beam = report["translation"]["beam5"]
    return step | {
        "train_tgt_tokens_per_s": report["training"].get("tgt_tokens_per_s"),
        "precision": report["training"].get("precision"),
        "beam5_sentences_per_s": beam["sentences_per_s"],
        "greedy_sentences_per_s": report["translation"]["greedy"]["sentences_per_s"],
        "test_bleu": report.get("bleu", {}).get("score"),
        "peak_gpu_mib_training": report.get("peak_gpu_mib_training"),
        "peak_gpu_mib_translation": report.get("peak_gpu_mib_translation"),
    }  # fmt: skip


def train(label: str, task: str, recipe: str, name: str, overrides: list[str]) -> dict:
    """Train one run; the step's record, with the end of the output if it failed."""
    rc, seconds, tail = nmt(task, "train", "-c", recipe, f"name={name}", *overrides)
    return {"step": label, "rc": rc, "wall_s": seconds} | ({"error": tail} if rc else {})


def language_model(data: str, gpu: list[str], out: Path, device: str) -> dict:
    from nmt.lm.predict import Sampler
    from nmt.search import SamplingOptions

    step = train(f"lm: tiny_shakespeare_char train, sample on {device}", "lm",
                 "tiny_shakespeare_char", "lm", [f"data.path={data}", *gpu])  # fmt: skip
    if step["rc"]:
        return step
    sampler = Sampler.load(out / "lm", device)
    started = time.perf_counter()
    (text,) = sampler.complete("ROMEO:", SamplingOptions(temperature=0.8, max_tokens=1000), 1,
                               seed=0)  # fmt: skip
    chars_per_s = round(len(text) / (time.perf_counter() - started))
    rates = logged_rates(out / "lm" / "logs" / "metrics.csv")
    return step | {"train_chars_per_s": rates.get("tgt_tokens_per_s"),
                   "sampling_chars_per_s": chars_per_s}  # fmt: skip


def classifier(data: str, gpu: list[str], out: Path, device: str) -> dict:
    step = train(f"classify: sst2_bilstm train, evaluate on {device}", "classify",
                 "sst2_bilstm", "classify", [f"data.path={data}", *gpu])  # fmt: skip
    if step["rc"]:
        return step
    rc, seconds, tail = nmt("classify", "evaluate", "-m", str(out / "classify"), "--data",
                            f"{data}/test.tsv", "--device", device, "--report",
                            str(out / "classify-report"))  # fmt: skip
    report = out / "classify-report" / "report.json"
    accuracy = json.loads(report.read_text()).get("accuracy") if report.exists() else None
    rates = logged_rates(out / "classify" / "logs" / "metrics.csv")
    return step | {"evaluate_rc": rc, "evaluate_wall_s": seconds, "test_accuracy": accuracy,
                   "train_tokens_per_s": rates.get("tgt_tokens_per_s")}  # fmt: skip


def tagger(scratch: Path, gpu: list[str], out: Path, device: str) -> dict:
    from nmt.tagging.synthetic import write_tagging_splits

    paths = write_tagging_splits("pos", scratch / "pos",
                                 {"train": 4000, "validation": 300, "test": 300})  # fmt: skip
    splits = ["data.splits.train=train.conllu", "data.splits.validation=validation.conllu",
              "data.splits.test=test.conllu"]  # fmt: skip
    step = train(f"tag: generated POS task train, evaluate on {device}", "tag", "ud_en_ewt_pos",
                 "tag", [f"data.path={scratch / 'pos'}", *splits, *gpu])  # fmt: skip
    if step["rc"]:
        return step
    rc, seconds, tail = nmt("tag", "evaluate", "-m", str(out / "tag"), "--data",
                            str(paths["test"]), "--device", device)  # fmt: skip
    return step | {"evaluate_rc": rc, "evaluate_wall_s": seconds, "evaluate_output": tail[-300:]}


def memory_reader(gpu: list[str]) -> dict:
    return train("memnet: generated stories train", "memnet", "stories", "memnet", gpu)


def table(results: dict) -> str:
    lines = [f"GPU check on {results['device']} (torch {results['torch']})", "",
             "| step | ok | wall s | figures |", "|---|---|---:|---|"]  # fmt: skip
    for step in results["steps"]:
        figures = {k: v for k, v in step.items()
                   if k not in ("step", "rc", "wall_s", "error", "evaluate_output")}  # fmt: skip
        ok = "yes" if step["rc"] == 0 and not step.get("evaluate_rc") else "FAILED"
        shown = ", ".join(f"{k} {v}" for k, v in figures.items())
        lines.append(f"| {step['step']} | {ok} | {step['wall_s']} | {shown} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

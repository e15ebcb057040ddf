"""Tiny Shakespeare character LM benchmark: train `tiny_shakespeare_char` (with overrides per
variant) within a wall-clock budget, then report the best checkpoint's loss on the whole held-out
tenth of the text (all 111,540 characters, read as one stream, state carried; nats and bits per
character), the sampling speed of one stream, and a sample. Prints a Markdown table and writes
the figures as JSON.

    python benchmarks/tiny_shakespeare.py --minutes 20 --data ../shared/data/tinyshakespeare
    python benchmarks/tiny_shakespeare.py --minutes 10 --variant model.cell=rnn \\
        --variant model.cell=gru --variant model.cell=lstm

Each --variant is one run (space-separated overrides in one argument). Runs go one after
another: run it on an otherwise idle machine, as the figures are timings. --measure-only measures
runs already trained (same arguments) again. The int8 model (--quantize of nmt lm sample) is
measured beside the float one. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from nmt.data.textfile import read_lines
from nmt.lm.corpus import split_tail
from nmt.lm.evaluate import score_stream
from nmt.lm.predict import Sampler
from nmt.lm.run import load_language_model_dir
from nmt.search import SamplingOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per run")
    parser.add_argument("--data", default="../shared/data/tinyshakespeare")
    parser.add_argument("--out", default="checkpoints/bench/shakespeare")
    parser.add_argument("--recipe", default="tiny_shakespeare_char")
    parser.add_argument("--variant", action="append", default=[], help="overrides of one run")
    parser.add_argument("--tag", default="", help="added to the run names")
    parser.add_argument("--measure-only", action="store_true", help="do not train again")
    args = parser.parse_args()
    results = [run(args, variant.split()) for variant in args.variant or [""]]
    print(table(results))
    measured = "-measured" if args.measure_only else ""
    out = Path(args.out) / f"results{args.tag}-{args.minutes:g}min{measured}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures: {out}")


def run(args: argparse.Namespace, overrides: list[str]) -> dict:
    name = "-".join([args.recipe, *[o.split("=")[-1] for o in overrides]]) + args.tag
    name += f"-{args.minutes:g}min"
    run_dir = Path(args.out) / name
    train = [
        sys.executable, "-m", "nmt.cli", "lm", "train", "-c", args.recipe,
        f"data.path={args.data}", f"output_dir={args.out}", f"name={name}",
        f"trainer.max_minutes={args.minutes:g}", "trainer.progress_bar=false", *overrides,
    ]  # fmt: skip
    command = " ".join(["nmt", *train[3:]])
    print("$", command, flush=True)
    started = time.perf_counter()
    if not args.measure_only:
        subprocess.run(train, check=True)
    train_minutes = (time.perf_counter() - started) / 60
    metadata = json.loads((run_dir / "metadata.json").read_text())
    _, held_out = split_tail(read_lines(Path(args.data) / "input.txt"), 0.1)
    measured = {}
    for kind, quantize in (("", False), ("int8_", True)):
        loaded = load_language_model_dir(run_dir, quantize=quantize)
        stream = score_stream(loaded, held_out)["total"]
        started = time.perf_counter()
        (text,) = Sampler(loaded).complete(
            "ROMEO:", SamplingOptions(temperature=0.8, max_tokens=2000), 1, seed=0
        )
        measured[f"{kind}sampling_chars_per_s"] = round(len(text) / (time.perf_counter() - started))
        measured[f"{kind}validation_nats_per_char"] = round(stream["nats_per_token"], 4)
        if not quantize:
            sample, bits = "ROMEO:" + text[:600], round(stream["bits_per_token"], 4)
    return {
        "variant": " ".join(overrides) or "(recipe)", "command": command,
        "validation_characters": stream["tokens"] + 1,
        "validation_bits_per_char": bits, **measured,
        "best_step": metadata["best"]["step"], "parameters": metadata["parameters"],
        "train_wall_minutes": None if args.measure_only else round(train_minutes, 1),
        "sample": sample,
    }  # fmt: skip


def wall(minutes: float | None) -> str:
    return "(trained before)" if minutes is None else f"{minutes} min"


def table(results: list[dict]) -> str:
    lines = ["| variant | validation nats/char | bits/char | parameters | training wall "
             "| sampling chars/s | int8: nats/char | int8: chars/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in results:
        lines.append(f"| {r['variant']} | {r['validation_nats_per_char']:.4f} "
                     f"| {r['validation_bits_per_char']:.4f} | {r['parameters']:,} "
                     f"| {wall(r['train_wall_minutes'])} "
                     f"| {r['sampling_chars_per_s']} | {r['int8_validation_nats_per_char']:.4f} "
                     f"| {r['int8_sampling_chars_per_s']} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()

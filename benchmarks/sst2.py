"""SST-2 sentiment benchmark: train `sst2_bilstm` (with overrides per variant) within a wall-clock
budget each, then score the 872 test sentences (GLUE's SST-2 dev set) with `nmt classify
evaluate`. Prints a Markdown table and writes the figures as JSON.

    python benchmarks/sst2.py --minutes 20 --data ../shared/data/sst2
    python benchmarks/sst2.py --minutes 5 --data ../shared/data/sst2 \\
        --variant model.pooling=last --variant model.pooling=max \\
        --variant model.pooling=mean --variant model.pooling=attention

Each --variant is one run (space-separated overrides in one argument); without any, the recipe
as it is. Runs go one after another: run it on an otherwise idle machine, as the figures are
timings. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per run")
    parser.add_argument("--data", default="../shared/data/sst2")
    parser.add_argument("--out", default="checkpoints/bench/sst2", help="where runs are written")
    parser.add_argument("--recipe", default="sst2_bilstm")
    parser.add_argument("--variant", action="append", default=[], help="overrides of one run")
    parser.add_argument("--tag", default="", help="added to the run names")
    args = parser.parse_args()
    results = [run(args, variant.split()) for variant in args.variant or [""]]
    print(table(results))
    out = Path(args.out) / f"results{args.tag}-{args.minutes:g}min.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures: {out}")


def run(args: argparse.Namespace, overrides: list[str]) -> dict:
    name = "-".join([args.recipe, *[o.split("=")[-1] for o in overrides]]) + args.tag
    name += f"-{args.minutes:g}min"
    run_dir = Path(args.out) / name
    train = [
        sys.executable, "-m", "nmt.cli", "classify", "train", "-c", args.recipe,
        f"data.path={args.data}", f"output_dir={args.out}", f"name={name}",
        f"trainer.max_minutes={args.minutes:g}", "trainer.progress_bar=false", *overrides,
    ]  # fmt: skip
    command = " ".join(["nmt", *train[3:]])
    print("$", command, flush=True)
    started = time.perf_counter()
    subprocess.run(train, check=True)
    train_minutes = (time.perf_counter() - started) / 60
    report = run_dir / "test_report"
    subprocess.run([sys.executable, "-m", "nmt.cli", "classify", "evaluate", "-m", str(run_dir),
                    "--data", str(Path(args.data) / "test.tsv"), "--report", str(report)],
                   check=True)  # fmt: skip
    scores = json.loads((report / "report.json").read_text())
    metadata = json.loads((run_dir / "metadata.json").read_text())
    with (run_dir / "logs" / "metrics.csv").open() as file:
        validations = [row for row in csv.DictReader(file) if row.get("val/acc")]
    return {
        "variant": " ".join(overrides) or "(recipe)", "command": command,
        "test_accuracy": round(scores["accuracy"], 2),
        "test_macro_f1": round(scores["macro_f1"], 2),
        "best_dev_accuracy": round(metadata["best"]["val_acc"], 2),
        "best_step": metadata["best"]["step"], "validations": len(validations),
        "train_wall_minutes": round(train_minutes, 1), "parameters": metadata["parameters"],
    }  # fmt: skip


def table(results: list[dict]) -> str:
    lines = ["| variant | test accuracy | test macro-F1 | best dev accuracy | validations "
             "| training wall |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in results:
        lines.append(f"| {r['variant']} | {r['test_accuracy']:.2f} | {r['test_macro_f1']:.2f} "
                     f"| {r['best_dev_accuracy']:.2f} | {r['validations']} "
                     f"| {r['train_wall_minutes']} min |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()

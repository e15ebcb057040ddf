"""UD English EWT part-of-speech benchmark: train the `ud_en_ewt_pos` recipe within a wall-clock
budget, then score UPOS on the test file with `nmt tag evaluate`. Prints the figures and writes
them as JSON beside the run.

    python benchmarks/ud_pos.py --minutes 55 --data ../shared/data/ud_english_ewt

Run it on an otherwise idle machine: the figures are timings. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=55.0, help="training budget")
    parser.add_argument("--data", default="../shared/data/ud_english_ewt")
    parser.add_argument("--out", default="checkpoints/bench", help="where the run is written")
    parser.add_argument("--recipe", default="ud_en_ewt_pos")
    parser.add_argument("--name", default="ud_en_ewt_pos")
    parser.add_argument("overrides", nargs="*", help="extra key=value for the recipe")
    args = parser.parse_args()

    run_dir = Path(args.out) / args.name
    train = [
        sys.executable, "-m", "nmt.cli", "tag", "train", "-c", args.recipe,
        f"data.path={args.data}", f"output_dir={args.out}", f"name={args.name}",
        f"trainer.max_minutes={args.minutes}", "trainer.progress_bar=false", *args.overrides,
    ]  # fmt: skip
    print("$", " ".join(train[2:]).replace("nmt.cli", "nmt"), flush=True)
    started = time.perf_counter()
    subprocess.run(train, check=True)
    train_seconds = time.perf_counter() - started

    test = Path(args.data) / "en_ewt-ud-test.conllu"
    report = run_dir / "test_report"
    evaluate = [sys.executable, "-m", "nmt.cli", "tag", "evaluate", "-m", str(run_dir),
                "--data", str(test), "--report", str(report)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(evaluate, check=True)
    tag_seconds = time.perf_counter() - started
    scores = json.loads((report / "report.json").read_text())

    with (run_dir / "logs" / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    rates = [float(row["tok/s"]) for row in rows if row.get("tok/s")]
    validations = [row for row in rows if row.get("val/acc")]
    metadata = json.loads((run_dir / "metadata.json").read_text())
    figures = {
        "command": " ".join(train[2:]).replace("nmt.cli", "nmt"),
        "train_wall_minutes": round(train_seconds / 60, 1),
        "epochs_validated": len(validations),
        "best_dev_upos": round(metadata["best"]["val_acc"], 2),
        "best_step": metadata["best"]["step"],
        "train_tokens_per_s_median": round(statistics.median(rates)) if rates else None,
        "test_upos": round(scores["accuracy"], 2),
        "test_tokens": scores["tokens"],
        "tagging_seconds_incl_load": round(tag_seconds, 1),
        "parameters": metadata["parameters"],
    }
    (run_dir / "benchmark.json").write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()

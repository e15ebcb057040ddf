"""How preparation and training grow with corpus size (issue "Scale and speed", part 1).

For each size it makes a corpus by recombining Multi30k's training pairs
(data_scripts/grow_corpus.py), then trains `nmt translate train` twice with a fresh `datasets`
cache per size: the first run prepares everything (reading and cleaning, sentencepiece on a
sample, encoding), the second finds the tokenizer and the encoding cached. From each run's
RUN/logs/phases.json and metrics.csv it prints, per size: seconds of each preparation phase,
seconds from start to the first training step, peak resident memory during preparation and
during training, disk used by the cache, and steady-state training target tokens/s.

    python benchmarks/growth.py --data ../shared/data/multi30k --sizes 30000 300000 3000000

Run it on an otherwise idle machine (it takes about 25 minutes for these sizes). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHASES = ("corpus", "tokenizer", "encoding")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="Multi30k folder (train, val, test2016)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[30_000, 300_000, 3_000_000])
    parser.add_argument("--work", default="/tmp/nmt-growth", help="corpora, caches and runs")
    parser.add_argument("--recipe", default="multi30k_en_de_cpu")
    parser.add_argument("--steps", type=int, default=300, help="training updates per run")
    parser.add_argument("overrides", nargs="*", help="recipe overrides, key=value")
    args = parser.parse_args()
    work = Path(args.work)
    rows = []
    for size in args.sizes:
        folder = work / str(size)
        if not (folder / "train.de").is_file():
            subprocess.run([sys.executable, str(REPO / "data_scripts" / "grow_corpus.py"),
                            "--data", args.data, "--pairs", str(size), "--out", str(folder)],
                           check=True)  # fmt: skip
        cache = folder / "hf-cache"
        runs = [train(args, folder, cache, name) for name in ("first", "second")]
        rows.append({"pairs": size, "cache_mib": disk_mib(cache), "runs": runs})
        print(json.dumps(rows[-1]), flush=True)
    (work / "growth.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))


def train(args: argparse.Namespace, folder: Path, cache: Path, name: str) -> dict:
    """One `nmt translate train` of `args.steps` updates; its phases, first step and speed."""
    run_dir = folder / "runs" / name
    command = [
        "nmt", "translate", "train", "-c", args.recipe, f"data.path={folder}",
        f"output_dir={folder / 'runs'}", f"name={name}", f"trainer.max_steps={args.steps}",
        f"trainer.val_check_interval={args.steps}", "trainer.progress_bar=false",
        "trainer.keep_last_checkpoints=0", *args.overrides,
    ]  # fmt: skip
    env = {**os.environ, "HF_DATASETS_CACHE": str(cache)}
    started = time.time()
    subprocess.run(command, check=True, env=env)
    wall = time.time() - started
    phases = json.loads((run_dir / "logs" / "phases.json").read_text())
    return {
        "name": name,
        "wall_s": round(wall, 1),
        "phases_s": {p: phases["phases"].get(p, {}).get("seconds") for p in PHASES},
        "first_step_s": phases["events"].get("first_step"),
        "peak_rss_mib_preparation": max(
            (phases["phases"][p]["peak_rss_mib"] for p in PHASES if p in phases["phases"]),
            default=None,
        ),  # fmt: skip
        "peak_rss_mib_training": phases["phases"].get("training", {}).get("peak_rss_mib"),
        "peak_rss_mib": phases["peak_rss_mib"],
        "tgt_tokens_per_s": steady_rate(run_dir / "logs" / "metrics.csv"),
    }


def steady_rate(metrics: Path) -> float | None:
    """Median logged training tok/s over the second half of the run."""
    with metrics.open() as handle:
        rates = [float(row["tok/s"]) for row in csv.DictReader(handle) if row.get("tok/s")]
    rates = rates[len(rates) // 2 :]
    return round(statistics.median(rates)) if rates else None


def disk_mib(folder: Path) -> float:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return round(total / 2**20, 1)


def table(rows: list[dict]) -> str:
    lines = [
        "| pairs | run | corpus s | tokenizer s | encoding s | first step s | peak RSS "
        "preparation MiB | peak RSS training MiB | cache MiB | train tgt tok/s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for run in row["runs"]:
            seconds = [run["phases_s"][p] for p in PHASES]
            lines.append(
                f"| {row['pairs']:,} | {run['name']} | "
                + " | ".join("-" if s is None else f"{s:.1f}" for s in seconds)
                + f" | {run['first_step_s']} | {run['peak_rss_mib_preparation']} | "
                f"{run['peak_rss_mib_training']} | {row['cache_mib']} | "
                f"{run['tgt_tokens_per_s']} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

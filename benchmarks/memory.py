"""Key-value memory benchmarks: the memory-network reader with 1 vs 3 hops on the generated story
task (accuracy per question type), and BLEU of the demo task's translator with and without a
decoder memory. Prints Markdown tables and writes JSON under --out.

    python benchmarks/memory.py                 # stories 1 vs 3 hops, demo with/without memory
    python benchmarks/memory.py --only stories

For Multi30k use benchmarks/multi30k.py with `--tag=-memory64 model.slot_memory.slots=64`.
Run it on an otherwise idle machine. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="checkpoints/bench/memory")
    parser.add_argument("--only", choices=["stories", "demo"], default=None)
    parser.add_argument("--slots", type=int, default=64, help="decoder memory slots (demo)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    if args.only in (None, "stories"):
        results["stories"] = [stories(out, hops) for hops in (1, 3)]
        print(stories_table(results["stories"]))
    if args.only in (None, "demo"):
        results["demo"] = [demo(out, slots) for slots in (0, args.slots)]
        print(demo_table(results["demo"]))
    (out / f"results-{args.only or 'all'}.json").write_text(json.dumps(results, indent=2) + "\n")


def run(command: list[str]) -> tuple[str, float]:
    print("$", " ".join(command), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return done.stdout, time.perf_counter() - started


def stories(out: Path, hops: int) -> dict:
    name = f"stories-{hops}hop"
    train = ["nmt", "memnet", "train", "-c", "stories", f"model.hops={hops}", f"name={name}",
             f"output_dir={out}", "trainer.progress_bar=false"]  # fmt: skip
    _, seconds = run(train)
    report = out / name / "test_report"
    evaluate = ["nmt", "memnet", "evaluate", "-m", str(out / name), "--report", str(report)]
    run(evaluate)
    scores = json.loads((report / "report.json").read_text())
    return {"hops": hops, "commands": [" ".join(train), " ".join(evaluate)],
            "train_wall_s": round(seconds, 1), "accuracy": scores["accuracy"],
            "accuracy_by_type": scores["accuracy_by_type"]}  # fmt: skip


def demo(out: Path, slots: int) -> dict:
    command = ["nmt", "translate", "demo", "--output-dir", str(out / f"demo-memory{slots}"),
               f"model.slot_memory.slots={slots}"]  # fmt: skip
    stdout, seconds = run(command)
    bleu = float(re.search(r"held-out BLEU: ([\d.]+)", stdout)[1])
    return {"slots": slots, "command": " ".join(command), "bleu": bleu,
            "wall_s": round(seconds, 1)}  # fmt: skip


def stories_table(rows: list[dict]) -> str:
    kinds = list(rows[0]["accuracy_by_type"])
    lines = ["| hops | " + " | ".join(kinds) + " | all | train wall |",
             "|---|" + "---:|" * (len(kinds) + 2)]  # fmt: skip
    for row in rows:
        cells = " | ".join(f"{row['accuracy_by_type'][k]:.1f}" for k in kinds)
        lines.append(
            f"| {row['hops']} | {cells} | {row['accuracy']:.1f} | {row['train_wall_s']} s |"
        )
    return "\n".join(lines)


def demo_table(rows: list[dict]) -> str:
    lines = ["| decoder memory slots | held-out BLEU | wall |", "|---|---:|---:|"]
    lines += [f"| {row['slots']} | {row['bleu']:.2f} | {row['wall_s']} s |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

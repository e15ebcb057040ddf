"""bAbI (1k) benchmark: train the `babi_1k` recipe on every bAbI task in a folder, several random
restarts per task (trainer.seed 1, 2, ...), keep the restart with the best validation accuracy
(10% of the training questions, never the test file), and score it once on the task's test file
with `nmt memnet evaluate`. Prints a Markdown table of test error per task and their mean, and
writes the figures as JSON.

    python benchmarks/babi.py --data ../shared/data/babi/en --restarts 5
    python benchmarks/babi.py --data ../shared/data/babi/en --tasks 17,19 --restarts 3 \\
        --variant "model.tying=layerwise"

One recipe for every task: overrides given with --variant apply to all of them. Runs go one
after another in this process; run it on an otherwise idle machine when the times matter. Not
part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from nmt.cli import main as nmt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/babi/en", help="bAbI task files")
    parser.add_argument("--out", default="checkpoints/bench/babi", help="where runs are written")
    parser.add_argument("--recipe", default="babi_1k")
    parser.add_argument("--tasks", default="", help="task numbers, e.g. 4,5,19 (all found)")
    parser.add_argument("--restarts", type=int, default=5, help="runs per task, best kept")
    parser.add_argument("--variant", default="", help="overrides for every run")
    parser.add_argument("--tag", default="", help="added to the run names")
    args = parser.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")] if args.tasks else found_tasks(args.data)
    results = [run_task(args, task) for task in tasks]
    print(table(results))
    mean = sum(r["test_error"] for r in results) / len(results)
    print(f"mean test error over {len(results)} tasks: {mean:.1f}%")
    out = Path(args.out) / f"results{args.tag}.json"
    out.write_text(json.dumps({"command": command_line(args), "mean_test_error": round(mean, 2),
                               "tasks": results}, indent=2) + "\n")  # fmt: skip
    print(f"figures: {out}")


def found_tasks(folder: str) -> list[int]:
    names = (re.fullmatch(r"qa(\d+)_.*_train\.txt", p.name) for p in Path(folder).iterdir())
    return sorted(int(match[1]) for match in names if match)


def run_task(args: argparse.Namespace, task: int) -> dict:
    runs = []
    started = time.perf_counter()
    for seed in range(1, args.restarts + 1):
        name = f"{args.recipe}{args.tag}-qa{task}-seed{seed}"
        code = nmt(["memnet", "train", "-c", args.recipe, f"data.path={args.data}",
                    f"data.babi_task={task}", f"trainer.seed={seed}", f"output_dir={args.out}",
                    f"name={name}", "trainer.progress_bar=false",
                    *args.variant.split()])  # fmt: skip
        if code != 0:
            raise SystemExit(f"training {name} failed (exit {code})")
        metadata = json.loads((Path(args.out) / name / "metadata.json").read_text())
        runs.append((metadata["best"]["val_acc"], seed, name))
    best_accuracy, best_seed, best_name = max(runs)  # ties: the later seed
    report = Path(args.out) / best_name / "test_report"
    if nmt(["memnet", "evaluate", "-m", str(Path(args.out) / best_name), "--report",
            str(report)]) != 0:  # fmt: skip
        raise SystemExit(f"evaluating {best_name} failed")
    scores = json.loads((report / "report.json").read_text())
    return {
        "task": task, "test_error": round(100 - scores["accuracy"], 1),  # accuracy in %
        "validation_accuracy": round(best_accuracy, 2), "best_seed": best_seed,
        "validation_accuracies": [round(accuracy, 2) for accuracy, _, _ in runs],
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }  # fmt: skip


def table(results: list[dict]) -> str:
    lines = ["| task | test error % | validation accuracy % (kept run) | restarts' validation "
             "accuracies | minutes |", "|---:|---:|---:|---|---:|"]  # fmt: skip
    for r in results:
        restarts = ", ".join(f"{a:.1f}" for a in r["validation_accuracies"])
        lines.append(f"| {r['task']} | {r['test_error']:.1f} | {r['validation_accuracy']:.1f} "
                     f"| {restarts} | {r['minutes']} |")  # fmt: skip
    return "\n".join(lines)


def command_line(args: argparse.Namespace) -> str:
    parts = ["python benchmarks/babi.py", f"--data {args.data}", f"--restarts {args.restarts}"]
    if args.tasks:
        parts.append(f"--tasks {args.tasks}")
    if args.variant:
        parts.append(f'--variant "{args.variant}"')
    return " ".join(parts)


if __name__ == "__main__":
    main()

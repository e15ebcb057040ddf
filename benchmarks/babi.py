"""bAbI (1k) benchmark: train the `babi_1k` recipe on every bAbI task in a folder, several random
restarts per task (trainer.seed 1, 2, ...), keep the restart with the best validation accuracy
(10% of the training questions, never the test file; ties: the lower validation loss), and score
it once on the task's test file with `nmt memnet evaluate`. Prints a Markdown table of test error
per task and their mean, and writes the figures as JSON.

    python benchmarks/babi.py --data ../shared/data/babi/en --restarts 5
    python benchmarks/babi.py --data ../shared/data/babi/en --tasks 17,19 --restarts 3 \\
        --variant "model.tying=layerwise"
    python benchmarks/babi.py --data ../shared/data/babi/en --recipe babi_1k,babi_1k_qr \\
        --restarts 3,1

With several recipes (comma-separated), every task trains the restarts of each and keeps the
best of all of them by the same validation rule: a choice of reader made the same way for every
task, as the choice of restart is. Overrides given with --variant apply to every run. With
--resume, runs this script finished before under --out (their directory holds its
`benchmark_run.json`) are taken as they are instead of trained again. Runs go one after another
in this process; run it on an otherwise idle machine when the times matter. Not part of the test
suite.
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
    parser.add_argument("--recipe", default="babi_1k", help="recipe, or several: a,b")
    parser.add_argument("--tasks", default="", help="task numbers, e.g. 4,5,19 (all found)")
    parser.add_argument("--restarts", default="5", help="runs per task (or per recipe: 3,1)")
    parser.add_argument("--variant", default="", help="overrides for every run")
    parser.add_argument("--tag", default="", help="added to the run names")
    parser.add_argument("--resume", action="store_true", help="keep runs finished before")
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


RUN_RECORD = "benchmark_run.json"  # in a run directory: written once its training finished


def run_task(args: argparse.Namespace, task: int) -> dict:
    runs = []
    started = time.perf_counter()
    for recipe, restarts in restarts_per_recipe(args.recipe, args.restarts).items():
        for seed in range(1, restarts + 1):
            runs.append(trained_run(args, recipe, task, seed))
    best = max(runs, key=lambda run: (run["validation_accuracy"], -run["validation_loss"]))
    report = Path(args.out) / best["name"] / "test_report"
    if nmt(["memnet", "evaluate", "-m", str(Path(args.out) / best["name"]), "--report",
            str(report)]) != 0:  # fmt: skip
        raise SystemExit(f"evaluating {best['name']} failed")
    scores = json.loads((report / "report.json").read_text())
    return {
        "task": task, "test_error": round(100 - scores["accuracy"], 1),  # accuracy in %
        "validation_accuracy": best["validation_accuracy"], "recipe": best["recipe"],
        "best_seed": best["seed"], "runs": runs,
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }  # fmt: skip


def restarts_per_recipe(recipes: str, restarts: str) -> dict[str, int]:
    """`--recipe a,b --restarts 3` gives each recipe 3 runs; `--restarts 3,1` gives a 3, b 1."""
    names, counts = recipes.split(","), [int(count) for count in restarts.split(",")]
    if len(counts) == 1:
        counts = counts * len(names)
    if len(counts) != len(names):
        raise SystemExit(f"--restarts {restarts}: give one count, or one per recipe ({recipes})")
    return dict(zip(names, counts, strict=True))


def trained_run(args: argparse.Namespace, recipe: str, task: int, seed: int) -> dict:
    """Trains one restart (or, with --resume, takes the one finished before) and returns its
    validation figures."""
    name = f"{recipe}{args.tag}-qa{task}-seed{seed}"
    record = Path(args.out) / name / RUN_RECORD
    if args.resume and record.exists():
        print(f"{name}: finished before, not trained again")
        return json.loads(record.read_text())
    code = nmt(["memnet", "train", "-c", recipe, f"data.path={args.data}",
                f"data.babi_task={task}", f"trainer.seed={seed}", f"output_dir={args.out}",
                f"name={name}", "trainer.progress_bar=false", *args.variant.split()])  # fmt: skip
    if code != 0:
        raise SystemExit(f"training {name} failed (exit {code})")
    best = json.loads((Path(args.out) / name / "metadata.json").read_text())["best"]
    run = {"name": name, "recipe": recipe, "seed": seed,
           "validation_accuracy": round(best["val_acc"], 2),
           "validation_loss": best["val_loss"]}  # fmt: skip
    record.write_text(json.dumps(run, indent=2) + "\n")
    return run


def table(results: list[dict]) -> str:
    lines = ["| task | test error % | validation accuracy % (kept run) | kept run | restarts' "
             "validation accuracies | minutes |", "|---:|---:|---:|---|---|---:|"]  # fmt: skip
    for r in results:
        restarts = ", ".join(f"{run['validation_accuracy']:.1f}" for run in r["runs"])
        kept = f"{r['recipe']} seed {r['best_seed']}"
        lines.append(f"| {r['task']} | {r['test_error']:.1f} | {r['validation_accuracy']:.1f} "
                     f"| {kept} | {restarts} | {r['minutes']} |")  # fmt: skip
    return "\n".join(lines)


def command_line(args: argparse.Namespace) -> str:
    parts = ["python benchmarks/babi.py", f"--data {args.data}", f"--recipe {args.recipe}",
             f"--restarts {args.restarts}"]  # fmt: skip
    if args.tasks:
        parts.append(f"--tasks {args.tasks}")
    if args.variant:
        parts.append(f'--variant "{args.variant}"')
    if args.tag:
        parts.append(f"--tag={args.tag}")
    if args.resume:
        parts.append("--resume")
    return " ".join(parts)


if __name__ == "__main__":
    main()

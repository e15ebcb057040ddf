"""Multi30k En->De benchmark: train each recipe for a fixed wall-clock budget, then translate
test2016 with beam 5 and score it with `nmt translate evaluate`. Prints a Markdown table and
writes JSON.

    python benchmarks/multi30k.py --minutes 20 --data ../shared/data/multi30k

Run it on an otherwise idle machine: the figures are timings. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from nmt.translation.bench import logged_rates

RECIPES = ("multi30k_en_de_attention", "multi30k_en_de_no_attention")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per recipe")
    parser.add_argument(
        "--data", default="../shared/data/multi30k", help="train/val/test2016 .en/.de"
    )
    parser.add_argument("--out", default="checkpoints/bench", help="run directories")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES))
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--tag", default="", help="suffix for the run names (variants of a recipe)")
    parser.add_argument("overrides", nargs="*", help="extra key=value for every recipe")
    parser.add_argument("--table", metavar="JSON", nargs="+", help="only print the table of these")
    args = parser.parse_args()
    if args.table:
        print(
            markdown_table(
                [row for path in args.table for row in json.loads(Path(path).read_text())]
            )
        )
        return
    rows = [benchmark(recipe, args) for recipe in args.recipes]
    out = Path(args.out)
    (out / f"results{args.tag}.json").write_text(json.dumps(rows, indent=2) + "\n", "utf-8")
    print(markdown_table(rows))


def timed(command: list[str], log: Path) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak resident MiB) measured by /usr/bin/time."""
    stats = log.with_suffix(".time")
    started = time.perf_counter()
    with log.open("w") as handle:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(stats), *command],
                       stdout=handle, stderr=subprocess.STDOUT, check=True)  # fmt: skip
    wall = time.perf_counter() - started
    return wall, int(stats.read_text().split()[-1]) / 1024


def benchmark(recipe: str, args: argparse.Namespace) -> dict:
    out = Path(args.out)
    name = f"{recipe}{args.tag}-{args.minutes:g}min"
    run_dir = out / name
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    train_cmd = ["nmt", "translate", "train", "-c", recipe, f"data.path={data}",
                 f"output_dir={out}", f"name={name}", f"trainer.max_minutes={args.minutes:g}",
                 "trainer.progress_bar=false", *args.overrides]  # fmt: skip
    train_wall, train_rss = timed(train_cmd, out / f"{name}.train.log")
    hyp = run_dir / "test2016.hyp.de"
    translate_cmd = ["nmt", "translate", "predict", "-m", str(run_dir),
                     "-i", str(data / "test2016.en"), "-o", str(hyp), "--beam", str(args.beam),
                     "--batch-size", "64"]  # fmt: skip
    translate_wall, translate_rss = timed(translate_cmd, out / f"{name}.translate.log")
    report = run_dir / "report-test2016"
    evaluate_cmd = ["nmt", "translate", "evaluate", "--hyp", str(hyp),
                    "--ref", str(data / "test2016.de"), "--src", str(data / "test2016.en"),
                    "--report", str(report)]  # fmt: skip
    subprocess.run(evaluate_cmd, check=True, capture_output=True)
    sentences = len((data / "test2016.en").read_text("utf-8").splitlines())
    return {
        "recipe": recipe + (f" ({' '.join(args.overrides)})" if args.overrides else ""),
        "run_dir": str(run_dir),
        "commands": [" ".join(train_cmd), " ".join(translate_cmd), " ".join(evaluate_cmd)],
        "train_wall_s": round(train_wall, 1),
        "train_peak_rss_mib": round(train_rss),
        "train_tgt_tokens_per_s": logged_rates(run_dir / "logs" / "metrics.csv").get(
            "tgt_tokens_per_s"
        ),
        "best_validation": json.loads((run_dir / "metadata.json").read_text())["best"],
        "translate_wall_s": round(translate_wall, 1),
        "translate_sentences_per_s_incl_load": round(sentences / translate_wall, 1),
        "translate_peak_rss_mib": round(translate_rss),
        "scores": json.loads((report / "report.json").read_text()),
    }


def markdown_table(rows: list[dict]) -> str:
    lines = ["| recipe | BLEU | chrF | TER | train tgt tok/s | train wall | translate sents/s |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        scores = row["scores"]
        lines.append(
            f"| {row['recipe']} | {_score(scores, 'bleu')} | {_score(scores, 'chrf')} | "
            f"{_score(scores, 'ter')} | {row['train_tgt_tokens_per_s']} | "
            f"{row['train_wall_s']} s | {row['translate_sentences_per_s_incl_load']} |"
        )
    return "\n".join(lines)


def _score(report: dict, name: str) -> str:
    value = report["scores"].get(name, {})  # report.json of `nmt translate evaluate`
    return f"{value.get('score', value):.2f}" if isinstance(value, dict) else str(value)


if __name__ == "__main__":
    sys.exit(main())

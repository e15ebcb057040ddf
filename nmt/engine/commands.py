"""Command-line pieces every task's commands share (each task's `commands.py` defines its verbs;
nmt.cli puts them under `nmt <task>`)."""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from pathlib import Path

from nmt.engine.rundir import write_text


def add_train_verb(
    verbs: argparse._SubParsersAction, package: str, help: str, description: str, example: str
) -> None:
    """`nmt <task> train -c RECIPE | --resume DIR [KEY=VALUE ...]`, the same for every task: it
    runs `train(load(...))` or `resume(...)` of the task package's run.py and config.py (the
    same file names in every task), imported only when the verb runs."""
    parser = verbs.add_parser("train", help=help, description=description)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-c", "--config", help="recipe name or YAML file")
    source.add_argument(
        "--resume", metavar="DIR", help="continue the run in this checkpoint directory"
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=f"e.g. {example}")
    parser.set_defaults(command=functools.partial(_train, package))


def _train(package: str, args: argparse.Namespace) -> int:
    run = importlib.import_module(f"{package}.run")
    if args.resume:
        run_dir = run.resume(args.resume, args.overrides)
    else:
        load = importlib.import_module(f"{package}.config").load
        run_dir = run.train(load(args.config, args.overrides))
    print(f"checkpoint: {run_dir}")
    return 0


def write_output(path: str | None, text: str) -> None:
    """Text to the -o file (written atomically), or to standard output without one."""
    if path:
        write_text(Path(path), text)
    else:
        sys.stdout.write(text)


def print_report_location(report_dir: str | None) -> None:
    if report_dir:
        print(f"report: {report_dir}")

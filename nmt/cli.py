"""`nmt` command line: the only module that reads argv. `nmt <task> <verb>`, each verb one library
call defined in its task's `commands.py`; the spellings from before tasks had their own verbs are
rewritten to the new ones first, so old commands, scripts and READMEs keep working."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from nmt.engine.allocator import bound_onednn_cache, keep_freed_memory
from nmt.engine.config import WrongTask
from nmt.engine.phases import command_begins
from nmt.errors import NmtError

logger = logging.getLogger("nmt")

# CLI word -> (the task package's commands module, help, the config's `task` value)
TASKS = {
    "translate": ("nmt.translation.commands", "translation: train, predict (translate text), "
                  "evaluate, average, bench, demo", "translation"),
    "tag": ("nmt.tagging.commands", "sequence tagging (POS, NER): train, predict, evaluate",
            "tagging"),
    "memnet": ("nmt.memnet.commands", "memory networks that answer questions about a story: "
               "train, predict, evaluate", "memnet"),
    "classify": ("nmt.classify.commands", "sequence classification (sentiment, topic, ...): "
                 "train, predict, evaluate", "classify"),
    "lm": ("nmt.lm.commands", "language models: train, sample (generate text), score "
           "(perplexity)", "lm"),
    "forecast": ("nmt.forecast.commands", "time series forecasting: train, predict, evaluate "
                 "(beside naive, seasonal naive, ETS and ARIMA)", "forecast"),
    "study": ("nmt.study.commands", "studies: memory (how far back each recurrent cell "
              "remembers)", "study"),
}  # fmt: skip
TRANSLATE_VERBS = ("train", "predict", "evaluate", "average", "bench", "demo", "align")
OLD_TRANSLATION_COMMANDS = ("train", "evaluate", "average", "bench", "demo")  # nmt train -> ...
OLD_TASK_WORDS = {"memory": "memnet"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(canonical_argv(sys.argv[1:] if argv is None else argv))
    _configure_logging(args.verbose)
    keep_freed_memory()
    bound_onednn_cache()
    command_begins()
    try:
        return args.command(args)
    except NmtError as error:
        print(f"nmt: error: {_message(error)}", file=sys.stderr)
        return 2


def canonical_argv(argv: Sequence[str]) -> list[str]:
    """The old spellings rewritten to `nmt <task> <verb>`: `nmt train` -> `nmt translate train`
    (likewise evaluate, average, bench, demo), `nmt translate -m DIR` -> `nmt translate predict
    -m DIR`, `nmt memory ...` -> `nmt memnet ...`."""
    argv = list(argv)
    first = next((i for i, arg in enumerate(argv) if arg not in ("-v", "--verbose")), None)
    if first is None:
        return argv
    word = argv[first]
    if word in OLD_TRANSLATION_COMMANDS:
        argv.insert(first, "translate")
    elif word in OLD_TASK_WORDS:
        argv[first] = OLD_TASK_WORDS[word]
    elif word == "translate":
        following = argv[first + 1] if first + 1 < len(argv) else None
        if following not in (*TRANSLATE_VERBS, "-h", "--help"):
            argv.insert(first + 1, "predict")
    return argv


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmt", description="Recurrent sequence learning: `nmt <task> <verb>`, e.g. "
        "nmt translate train -c demo, nmt tag predict -m DIR. The older spellings (nmt train, "
        "nmt translate -m DIR, nmt evaluate, nmt average, nmt bench, nmt demo, nmt memory) "
        "still work.",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    tasks = parser.add_subparsers(title="tasks", required=True, metavar="TASK")
    for word, (module, help_text, _) in TASKS.items():
        task = tasks.add_parser(word, help=help_text, description=help_text)
        verbs = task.add_subparsers(title="verbs", required=True, metavar="VERB")
        importlib.import_module(module).add_commands(verbs)
    return parser


def _message(error: NmtError) -> str:
    """The error's text; a recipe of another task also gets the command that runs it."""
    if isinstance(error, WrongTask):
        word = next((w for w, spec in TASKS.items() if spec[2] == error.task), None)
        if word is None and error.task in OLD_TASK_WORDS:
            word = OLD_TASK_WORDS[error.task]
        if word is not None:
            return f"{error}; run it with `nmt {word} train -c ...`"
    return str(error)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    for old in list(logger.handlers):  # main() may run more than once in a process (tests)
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    if _launched_rank() > 0:
        # Each process of a several-process run (Lightning's DDP children, torchrun, SLURM
        # tasks) runs the whole command; one reports its progress, the others only problems.
        logger.setLevel(logging.WARNING)
    logger.propagate = False
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*litlogger.*")
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


def _launched_rank() -> int:
    """This process's rank among those its launcher started for one run; 0 when it runs alone.
    The variables Lightning reads too (RANK from torchrun, LOCAL_RANK from Lightning's own DDP
    launcher, SLURM_PROCID), first found wins."""
    for name in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

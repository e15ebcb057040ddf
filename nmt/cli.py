"""`nmt` command line: the only module that reads argv. Each subcommand is one library call."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from nmt.errors import NmtError

logger = logging.getLogger("nmt")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return args.command(args)
    except NmtError as error:
        print(f"nmt: error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmt", description="Recurrent sequence-to-sequence learning: train and use LSTM "
        "translation models with and without attention.",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a translation model from a recipe",
        description="Train a model. Settings come from a recipe (a packaged name such as "
        "multi30k_en_de_attention, or a YAML file), then dotted overrides: "
        "nmt train -c multi30k_en_de_attention model.attention=luong trainer.max_epochs=5",
    )  # fmt: skip
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("-c", "--config", help="recipe name or YAML file")
    source.add_argument(
        "--resume", metavar="DIR", help="continue the run in this checkpoint directory"
    )
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. optim.lr=0.0005")
    train.set_defaults(command=_train)

    demo = commands.add_parser(
        "demo", help="train and evaluate a small model on a generated task (a few CPU minutes)"
    )
    demo.add_argument("--output-dir", default="checkpoints", help="where the run is written")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. trainer.max_epochs=5")
    demo.set_defaults(command=_demo)

    translate = commands.add_parser("translate", help="translate text with a trained model")
    translate.add_argument(
        "-m", "--model", required=True, metavar="DIR", help="checkpoint directory"
    )
    translate.add_argument(
        "-i", "--input", help="input file, one sentence per line (default: stdin)"
    )
    translate.add_argument("-o", "--output", help="output file (default: stdout)")
    translate.add_argument("--batch-size", type=int, default=64, help="sentences per batch")
    translate.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    translate.set_defaults(command=_translate)
    return parser


def _train(args: argparse.Namespace) -> int:
    from nmt.config import load_config
    from nmt.run import resume, train

    if args.resume:
        run_dir = resume(args.resume, args.overrides)
    else:
        run_dir = train(load_config(args.config, args.overrides))
    print(f"checkpoint: {run_dir}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from nmt.demo import run_demo

    started = time.perf_counter()
    result = run_demo(args.output_dir, args.overrides)
    print("\nsource | translation | reference")
    for source, translation, reference in result.examples[:8]:
        print(f"  {source} | {translation} | {reference}")
    print(f"\nheld-out BLEU: {result.bleu.score:.2f}  ({result.bleu})")
    print(f"time: {time.perf_counter() - started:.0f} s")
    print(f"checkpoint: {result.run_dir}")
    print(f"try it: echo '2024-02-29' | nmt translate -m {result.run_dir}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    from nmt.checkpoint import atomic_write
    from nmt.translate import Translator

    translator = Translator.load(args.model, args.device)
    if args.input:
        lines = _read_lines(Path(args.input))
    else:
        lines = [line.rstrip("\n") for line in sys.stdin]
    translations = translator.translate(lines, batch_size=args.batch_size)
    text = "".join(f"{line}\n" for line in translations)
    if args.output:
        atomic_write(Path(args.output), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise NmtError(f"{path}: cannot read ({error.strerror})") from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    decoded = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            raise NmtError(f"{path}:{number}: not valid UTF-8") from None
    return decoded


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    for old in list(logger.handlers):  # main() may run more than once in a process (tests)
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*litlogger.*")
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


if __name__ == "__main__":
    raise SystemExit(main())

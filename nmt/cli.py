"""`nmt` command line: the only module that reads argv. Each subcommand is one library call."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from nmt.allocator import keep_freed_memory
from nmt.errors import NmtError

logger = logging.getLogger("nmt")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    keep_freed_memory()
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
    _add_run_arguments(train, "optim.lr=0.0005")
    train.set_defaults(command=_train)

    demo = commands.add_parser(
        "demo", help="train and evaluate a small model on a generated task (a few CPU minutes)"
    )
    demo.add_argument("--output-dir", default="checkpoints", help="where the run is written")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. trainer.max_epochs=5")
    demo.set_defaults(command=_demo)

    translate = commands.add_parser(
        "translate", help="translate text with a trained model",
        description="Translate one sentence per line. Reads -i FILE or standard input (typed "
        "lines are translated as you enter them) and writes -o FILE or standard output, one "
        "line per input line.",
    )  # fmt: skip
    translate.add_argument(
        "-m", "--model", required=True, metavar="DIR", help="checkpoint directory"
    )
    translate.add_argument("-i", "--input", help="input file (default: standard input)")
    translate.add_argument(
        "-o", "--output", help="output file, written atomically (default: stdout)"
    )
    translate.add_argument(
        "--n-best", type=int, default=1,
        help="hypotheses per line; above 1 the output is TSV: line index, score, text",
    )  # fmt: skip
    _add_search_arguments(translate)
    translate.add_argument("--batch-tokens", type=int, default=None, help="source tokens per batch")
    translate.add_argument(
        "--interactive", action="store_true",
        help="translate each line as soon as it is read (the default when stdin is a terminal)",
    )  # fmt: skip
    translate.set_defaults(command=_translate)

    evaluate = commands.add_parser(
        "evaluate", help="score translations: sacrebleu BLEU, chrF, TER and a report",
        description="Score a file of translations (--hyp) or a model's translations of --src "
        "(-m) against one or more reference files with sacrebleu BLEU, chrF and TER (with "
        "signatures) and lowercased BLEU; --report DIR adds BLEU by length, attention heatmaps "
        "and best/worst sentences; --compare runs paired bootstrap resampling against a baseline.",
    )  # fmt: skip
    system = evaluate.add_mutually_exclusive_group(required=True)
    system.add_argument("--hyp", metavar="FILE", help="translations, one per reference line")
    system.add_argument("-m", "--model", metavar="DIR", help="checkpoint: translate --src first")
    evaluate.add_argument("--src", metavar="FILE", help="source (needed with -m; with --hyp, "
                          "length buckets use it instead of the first reference)")  # fmt: skip
    evaluate.add_argument("--ref", nargs="+", required=True, metavar="FILE", help="references")
    evaluate.add_argument("--report", metavar="DIR", help="write report.json, report.md, PNGs")
    evaluate.add_argument("--compare", metavar="HYP2", help="baseline translations to test against")
    evaluate.add_argument(
        "--bootstrap", type=int, default=1000, metavar="N", help="--compare resamples (1000)"
    )
    evaluate.add_argument(
        "--heatmaps", type=int, default=3, metavar="N", help="with -m: attention plots (3)"
    )
    _add_search_arguments(evaluate, "with -m: ")
    evaluate.set_defaults(command=_evaluate)

    average = commands.add_parser(
        "average", help="average the weights of a run's last checkpoints into a new directory",
        description="Average the model weights of the last N step checkpoints of a run "
        "(RUN/lightning/step-*.ckpt, see trainer.keep_last_checkpoints) into a new checkpoint "
        "directory that `nmt translate -m` can use.",
    )  # fmt: skip
    average.add_argument("run_dir", metavar="RUN_DIR", help="checkpoint directory of a run")
    average.add_argument("--last", type=int, required=True, metavar="N", help="how many")
    average.add_argument("-o", "--output", required=True, metavar="DIR", help="new directory")
    average.set_defaults(command=_average)
    _add_tag_commands(commands)
    _add_memory_commands(commands)
    _add_bench_command(commands)
    return parser


def _add_bench_command(commands) -> None:
    bench = commands.add_parser(
        "bench", help="measure training and translation speed (and BLEU per time) here",
        description="Measure a recipe on this machine: steady-state training throughput "
        "(source and target tokens/s over --steps updates after --warmup, validation "
        "excluded), translation throughput greedy and with --beam (sentences/s and output "
        "tokens/s of the search loop) on the test split, peak memory, device, threads and "
        "versions. -m DIR measures a trained model (its config, with overrides on top); "
        "--minutes N instead trains a real run for N minutes and reports its test BLEU.",
    )  # fmt: skip
    source = bench.add_mutually_exclusive_group()
    source.add_argument("-c", "--config", help="recipe name or YAML file")
    source.add_argument("-m", "--model", metavar="DIR", help="a trained checkpoint directory")
    bench.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. data.path=DIR")
    bench.add_argument("--steps", type=int, default=200, help="measured updates (200)")
    bench.add_argument("--warmup", type=int, default=20, help="updates before measuring (20)")
    bench.add_argument("--beam", type=int, default=5, help="beam size (5)")
    bench.add_argument("--batch-size", type=int, default=64, help="sentences per batch (64)")
    bench.add_argument(
        "--sentences", type=int, default=1000, help="sentences to translate; 0: training only"
    )
    bench.add_argument("--minutes", type=float, help="train a real run this long, report BLEU")
    bench.add_argument(
        "--quantize", action="store_true", help="translate with int8 weights too (CPU)"
    )
    bench.add_argument(
        "--profile", metavar="FILE", help="torch.profiler table of the measured training steps"
    )
    bench.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(command=_bench)


def _add_memory_commands(commands) -> None:
    """`nmt memory train | evaluate`: memory-network readers for story questions."""
    memory = commands.add_parser(
        "memory", help="memory networks: answer questions about a story (generated bAbI-style "
        "task, no download)",
    )  # fmt: skip
    actions = memory.add_subparsers(title="memory commands", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train", help="train a memory-network reader",
        description="Train a reader: nmt memory train -c stories model.hops=3. Without "
        "data.path the generated story task is written into the run directory first.",
    )  # fmt: skip
    _add_run_arguments(train, "model.hops=1")
    train.set_defaults(command=_memory_train)
    evaluate = actions.add_parser(
        "evaluate", help="accuracy per question type and addressing weights",
        description="Answer the questions of a JSONL story file (default: the run's test split) "
        "and report accuracy per question type; --report DIR adds the addressing weights of "
        "each hop for a few examples.",
    )  # fmt: skip
    evaluate.add_argument("-m", "--model", required=True, metavar="DIR", help="reader directory")
    evaluate.add_argument("--data", metavar="FILE", help="JSONL stories (default: run's test)")
    evaluate.add_argument("--report", metavar="DIR", help="write report.json and report.md")
    evaluate.add_argument("--examples", type=int, default=3, help="examples in the report (3)")
    evaluate.set_defaults(command=_memory_evaluate)


def _add_tag_commands(commands) -> None:
    """`nmt tag train | predict | evaluate`: sequence taggers (POS, NER)."""
    tag = commands.add_parser(
        "tag", help="train and use sequence taggers (POS, NER): one label per token",
        description="BiLSTM (+CRF) taggers for CoNLL-U (UPOS/XPOS) and CoNLL/BIO column files.",
    )  # fmt: skip
    actions = tag.add_subparsers(title="tag commands", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train", help="train a tagger from a recipe",
        description="Train a tagger: nmt tag train -c ud_en_ewt_pos "
        "data.path=path/to/UD_English-EWT trainer.max_minutes=30",
    )  # fmt: skip
    _add_run_arguments(train, "model.crf=true")
    train.set_defaults(command=_tag_train)

    predict = actions.add_parser(
        "predict", help="tag tokenized text or a CoNLL file",
        description="Tag sentences. --format tokens (the default unless the input file is "
        "*.conllu / *.conll / *.bio): one sentence per line, tokens separated by spaces; "
        "the output has one line of tags per input line. --format conllu or conll: the output "
        "is the input file with its tag column (UPOS, or the last column) filled in.",
    )  # fmt: skip
    predict.add_argument("-m", "--model", required=True, metavar="DIR", help="tagger directory")
    predict.add_argument("-i", "--input", help="input file (default: standard input, tokens)")
    predict.add_argument("-o", "--output", help="output file, written atomically (default: stdout)")
    predict.add_argument("--format", choices=["tokens", "conllu", "conll"], help="input format")
    predict.add_argument(
        "--tag-column",
        default=None,
        help="conllu: upos or xpos; conll: column index (default: the last)",
    )
    predict.add_argument("--batch-tokens", type=int, default=4000, help="tokens per batch (4000)")
    predict.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    predict.set_defaults(command=_tag_predict)

    evaluate = actions.add_parser(
        "evaluate", help="score a tagger on a labelled file",
        description="Tag the tokens of a labelled CoNLL-U or CoNLL/BIO file and score the tags "
        "against the file's own: token accuracy, per-tag precision/recall/F1 and, for BIO tags, "
        "entity-level precision/recall/F1. --report DIR writes report.json and report.md.",
    )  # fmt: skip
    evaluate.add_argument("-m", "--model", required=True, metavar="DIR", help="tagger directory")
    evaluate.add_argument("--data", required=True, metavar="FILE", help="labelled file")
    evaluate.add_argument("--format", choices=["conllu", "conll"], help="default: from the name")
    evaluate.add_argument("--tag-column", default=None, help="default: the model's")
    evaluate.add_argument("--report", metavar="DIR", help="write report.json and report.md")
    evaluate.add_argument("--batch-tokens", type=int, default=4000, help="tokens per batch (4000)")
    evaluate.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    evaluate.set_defaults(command=_tag_evaluate)


def _add_run_arguments(parser: argparse.ArgumentParser, example: str) -> None:
    """-c RECIPE or --resume DIR, then KEY=VALUE overrides: every task's train command."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-c", "--config", help="recipe name or YAML file")
    source.add_argument(
        "--resume", metavar="DIR", help="continue the run in this checkpoint directory"
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=f"e.g. {example}")


def _run_training(args: argparse.Namespace, load, train, resume) -> int:
    """A new run from args.config, or args.resume continued; prints the run directory."""
    if args.resume:
        run_dir = resume(args.resume, args.overrides)
    else:
        run_dir = train(load(args.config, args.overrides))
    print(f"checkpoint: {run_dir}")
    return 0


def _add_search_arguments(parser: argparse.ArgumentParser, note: str = "") -> None:
    """The search and batching flags of every command that translates."""
    parser.add_argument("--beam", type=int, default=5, help=f"{note}beam size; 1 = greedy (5)")
    parser.add_argument(
        "--length-penalty", type=float, default=1.0, help=f"{note}GNMT alpha; 0 = none (1.0)"
    )
    parser.add_argument(
        "--max-length-a", type=float, default=1.5, help=f"{note}output <= a * source + b (1.5)"
    )
    parser.add_argument("--max-length-b", type=int, default=10, help=f"{note}b of the above (10)")
    parser.add_argument("--batch-size", type=int, default=64, help=f"{note}sentences per batch")
    parser.add_argument("--device", default="cpu", help=f"{note}cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--quantize", action="store_true",
        help=f"{note}int8 weights for the linear and LSTM layers (CPU; faster, see README)",
    )  # fmt: skip


def _search_options(args: argparse.Namespace, n_best: int = 1, keep_attention: bool = False):
    """SearchOptions from the flags of _add_search_arguments; bad values are user errors."""
    from nmt.search import SearchOptions

    try:
        return SearchOptions(
            beam_size=args.beam, n_best=n_best, length_penalty=args.length_penalty,
            max_length_a=args.max_length_a, max_length_b=args.max_length_b,
            keep_attention=keep_attention,
        )  # fmt: skip
    except ValueError as error:
        raise NmtError(f"--beam/--n-best: {error}") from None


def _train(args: argparse.Namespace) -> int:
    from nmt.config import load_config
    from nmt.run import resume, train

    return _run_training(args, load_config, train, resume)


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
    from nmt.data.textfile import read_lines, split_lines
    from nmt.translate import Translator

    options = _search_options(args, args.n_best)
    translator = Translator.load(args.model, args.device, args.quantize)
    if args.input is None and (args.interactive or sys.stdin.isatty()):
        for line in sys.stdin:
            found = translator.translate_nbest([line.rstrip("\n")], options)
            sys.stdout.write(_format_translations(found, args.n_best, first_index=0))
            sys.stdout.flush()
        return 0
    lines = read_lines(args.input) if args.input else split_lines(sys.stdin.read())
    found = _translate_with_progress(translator, lines, options, args)
    text = _format_translations(found, args.n_best)
    if args.output:
        atomic_write(Path(args.output), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def _translate_with_progress(translator, lines: list[str], options, args: argparse.Namespace):
    """Batched translation; a progress bar on stderr when the output goes to a file."""
    from tqdm import tqdm

    with tqdm(total=len(lines), unit="sent", disable=not args.output, file=sys.stderr) as bar:
        return translator.translate_nbest(
            lines, options, args.batch_size, args.batch_tokens, on_batch=bar.update
        )


def _format_translations(found, n_best: int, first_index: int = 0) -> str:
    """One line per input; with n_best > 1, n lines per input as TSV: index, score, text."""
    if n_best == 1:
        return "".join(f"{hyps[0].text if hyps else ''}\n" for hyps in found)
    rows = []
    for index, hypotheses in enumerate(found, start=first_index):
        rows.extend(f"{index}\t{h.score:.4f}\t{h.text}\n" for h in hypotheses)
        if not hypotheses:
            rows.append(f"{index}\t0.0000\t\n")
    return "".join(rows)


def _evaluate(args: argparse.Namespace) -> int:
    from nmt.evaluate import evaluate_files, evaluate_model
    from nmt.report import format_summary

    if args.model is None:
        report = evaluate_files(
            args.hyp, args.ref, src_path=args.src, report_dir=args.report,
            compare_path=args.compare, n_bootstrap=args.bootstrap,
        )  # fmt: skip
    elif args.src is None:
        raise NmtError("evaluate -m DIR needs --src FILE, the sentences to translate")
    else:
        report = evaluate_model(
            args.model, args.src, args.ref, _search_options(args, keep_attention=bool(args.report)),
            report_dir=args.report,
            compare_path=args.compare, device=args.device, batch_size=args.batch_size,
            n_bootstrap=args.bootstrap, n_heatmaps=args.heatmaps, quantize=args.quantize,
        )  # fmt: skip
    print(format_summary(report))
    if args.report:
        print(f"report: {args.report}")
    return 0


def _average(args: argparse.Namespace) -> int:
    from nmt.average import average_checkpoints

    print(average_checkpoints(args.run_dir, args.last, args.output))
    return 0


def _tag_train(args: argparse.Namespace) -> int:
    from nmt.tagging.run import load_tagging_config, resume_tagger, train_tagger

    return _run_training(args, load_tagging_config, train_tagger, resume_tagger)


def _tag_predict(args: argparse.Namespace) -> int:
    from nmt.checkpoint import atomic_write
    from nmt.data.textfile import split_lines
    from nmt.tagging.predict import (
        Tagger,
        format_predictions,
        guess_format,
        read_sentences,
        token_sentences,
    )  # fmt: skip

    file_format = args.format or (guess_format(args.input) if args.input else "tokens")
    if args.input is None and file_format != "tokens":
        raise NmtError(f"--format {file_format} needs an input file (-i FILE)")
    tagger = Tagger.load(args.model, args.device)
    tag_column = args.tag_column or ("upos" if file_format == "conllu" else "-1")
    if args.input:
        sentences = read_sentences(args.input, file_format, tag_column)
    else:
        sentences = token_sentences(split_lines(sys.stdin.read()))
    predictions = tagger.tag([sentence.tokens for sentence in sentences], args.batch_tokens)
    text = format_predictions(args.input, predictions, file_format, tag_column)
    if args.output:
        atomic_write(Path(args.output), lambda tmp: tmp.write_text(text, encoding="utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def _tag_evaluate(args: argparse.Namespace) -> int:
    from nmt.tagging.evaluate import evaluate_tagger
    from nmt.tagging.metrics import format_scores

    scores = evaluate_tagger(
        args.model, args.data, args.format, args.tag_column, args.report, args.device,
        args.batch_tokens,
    )  # fmt: skip
    print(format_scores(scores))
    if args.report:
        print(f"report: {args.report}")
    return 0


def _memory_train(args: argparse.Namespace) -> int:
    from nmt.memnet.run import load_memory_config, resume_reader, train_reader

    return _run_training(args, load_memory_config, train_reader, resume_reader)


def _memory_evaluate(args: argparse.Namespace) -> int:
    from nmt.memnet.evaluate import evaluate_reader, format_scores

    scores = evaluate_reader(args.model, args.data, args.report, args.examples)
    print(format_scores(scores))
    if args.report:
        print(f"report: {args.report}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import json

    from nmt.bench import format_report, run_bench
    from nmt.checkpoint import CONFIG_FILE, atomic_write
    from nmt.config import load_config

    recipe = str(Path(args.model) / CONFIG_FILE) if args.model else args.config
    config = load_config(recipe, args.overrides)
    report = run_bench(
        config, args.model, args.steps, args.warmup, args.beam, args.batch_size,
        args.sentences, args.minutes, Path(args.profile) if args.profile else None, args.quantize,
    )  # fmt: skip
    print(format_report(report))
    if args.json:
        text = json.dumps(report, indent=2) + "\n"
        atomic_write(Path(args.json), lambda tmp: tmp.write_text(text, "utf-8"))
    return 0


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

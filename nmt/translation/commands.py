"""`nmt translate train | predict | evaluate | average | bench | demo | align`: each verb one
library call.

The spellings from before tasks had their own verbs (`nmt train`, `nmt translate -m DIR`,
`nmt evaluate`, `nmt average`, `nmt bench`, `nmt demo`) are rewritten to these by nmt.cli.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from nmt.engine.commands import add_train_verb, print_report_location, write_output
from nmt.engine.rundir import atomic_write, check_output_dir, check_output_file
from nmt.errors import NmtError

VERBS = ("train", "predict", "evaluate", "average", "bench", "demo", "align")


def add_commands(verbs: argparse._SubParsersAction) -> None:
    add_train_verb(
        verbs, "nmt.translation", help="train a translation model from a recipe",
        description="Train a model. Settings come from a recipe (a packaged name such as "
        "multi30k_en_de_attention, or a YAML file), then dotted overrides: "
        "nmt translate train -c multi30k_en_de_attention model.attention=luong "
        "trainer.max_epochs=5", example="optim.lr=0.0005",
    )  # fmt: skip
    _add_predict(verbs)
    _add_evaluate(verbs)

    average = verbs.add_parser(
        "average", help="average the weights of a run's last checkpoints into a new directory",
        description="Average the model weights of the last N step checkpoints of a run "
        "(RUN/lightning/step-*.ckpt, see trainer.keep_last_checkpoints) into a new checkpoint "
        "directory that `nmt translate predict -m` can use.",
    )  # fmt: skip
    average.add_argument("run_dir", metavar="RUN_DIR", help="checkpoint directory of a run")
    average.add_argument("--last", type=int, required=True, metavar="N", help="how many")
    average.add_argument("-o", "--output", required=True, metavar="DIR", help="new directory")
    average.set_defaults(command=_average)
    _add_bench(verbs)
    _add_align(verbs)

    demo = verbs.add_parser(
        "demo", help="train and evaluate a small model on a generated task (a few CPU minutes)"
    )
    demo.add_argument("--output-dir", default="checkpoints", help="where the run is written")
    demo.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. trainer.max_epochs=5")
    demo.set_defaults(command=_demo)


def _add_predict(verbs: argparse._SubParsersAction) -> None:
    predict = verbs.add_parser(
        "predict", help="translate text with a trained model (also: nmt translate -m DIR)",
        description="Translate one sentence per line. Reads -i FILE or standard input (typed "
        "lines are translated as you enter them) and writes -o FILE or standard output, one "
        "line per input line.",
    )  # fmt: skip
    predict.add_argument(
        "-m", "--model", required=True, metavar="DIR", action="append",
        help="checkpoint directory; several -m: an ensemble (averaged log-probabilities)",
    )  # fmt: skip
    predict.add_argument("-i", "--input", help="input file (default: standard input)")
    predict.add_argument("-o", "--output", help="output file, written atomically (default: stdout)")
    predict.add_argument(
        "--n-best", type=int, default=1,
        help="hypotheses per line; above 1 the output is TSV: line index, score, text",
    )  # fmt: skip
    predict.add_argument(
        "--glossary", metavar="TSV",
        help="source TAB target terms the translation must use (a model trained with "
        "model.glossary_memory=true)",
    )  # fmt: skip
    _add_search_arguments(predict)
    predict.add_argument("--batch-tokens", type=int, default=None, help="source tokens per batch")
    predict.add_argument(
        "--interactive", action="store_true",
        help="translate each line as soon as it is read (the default when stdin is a terminal)",
    )  # fmt: skip
    predict.add_argument(
        "--chunk-lines", type=int, default=10000, metavar="N",
        help="lines read, translated and written at a time (10000): bounds memory on big files",
    )  # fmt: skip
    predict.set_defaults(command=_predict)


def _add_evaluate(verbs: argparse._SubParsersAction) -> None:
    evaluate = verbs.add_parser(
        "evaluate", help="score translations: sacrebleu BLEU, chrF, TER and a report",
        description="Score a file of translations (--hyp) or a model's translations of --src "
        "(-m) against one or more reference files with sacrebleu BLEU, chrF and TER (with "
        "signatures) and lowercased BLEU; --report DIR adds BLEU by length, attention heatmaps "
        "and best/worst sentences; --compare runs paired bootstrap resampling against a baseline.",
    )  # fmt: skip
    system = evaluate.add_mutually_exclusive_group(required=True)
    system.add_argument("--hyp", metavar="FILE", help="translations, one per reference line")
    system.add_argument("-m", "--model", metavar="DIR", action="append",
                        help="checkpoint: translate --src first (several: an ensemble)")
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
    evaluate.add_argument("--glossary", metavar="TSV", help="source TAB target terms: report the "
                          "term use rate and list the misses (needs --src); with -m, a model "
                          "with a glossary memory translates with it")  # fmt: skip
    evaluate.add_argument(
        "--no-glossary-memory", action="store_true",
        help="with -m and --glossary: translate without the glossary, only check its terms "
        "(the baseline on the same model)",
    )  # fmt: skip
    _add_search_arguments(evaluate, "with -m: ")
    evaluate.set_defaults(command=_evaluate)


def _add_align(verbs: argparse._SubParsersAction) -> None:
    align = verbs.add_parser(
        "align", help="build a term dictionary from a parallel corpus (glossary memory training)",
        description="Align the words of a parallel corpus (IBM model 1 both ways, links kept "
        "where both agree) and write the term dictionary that data.term_dictionary reads: "
        "source TAB target TAB links, most frequent translation first.",
    )  # fmt: skip
    align.add_argument("--src", required=True, metavar="FILE", help="source sentences")
    align.add_argument("--tgt", required=True, metavar="FILE", help="their translations")
    align.add_argument("-o", "--output", required=True, metavar="TSV", help="dictionary to write")
    align.add_argument("--min-count", type=int, default=2, help="links a pair needs (2)")
    align.add_argument(
        "--skip-frequent", type=int, default=10, metavar="N",
        help="leave out the N most frequent words of each side (10)",
    )  # fmt: skip
    align.set_defaults(command=_align)


def _align(args: argparse.Namespace) -> int:
    from nmt.data.textfile import count_lines, numbered_lines
    from nmt.translation.align import build_term_dictionary

    check_output_file(args.output)
    if count_lines(args.src) != count_lines(args.tgt):
        raise NmtError(f"{args.src} has {count_lines(args.src)} lines but {args.tgt} has "
                       f"{count_lines(args.tgt)}")  # fmt: skip
    started = time.perf_counter()
    dictionary = build_term_dictionary(
        (text for _, text, _ in numbered_lines(args.src)),
        (text for _, text, _ in numbered_lines(args.tgt)),
        min_count=args.min_count, skip_frequent=args.skip_frequent,
    )  # fmt: skip
    dictionary.write(args.output)
    print(f"{args.output}: {len(dictionary)} translations of {len(dictionary.translations)} "
          f"source words ({time.perf_counter() - started:.0f} s)")  # fmt: skip
    return 0


def _add_bench(verbs: argparse._SubParsersAction) -> None:
    bench = verbs.add_parser(
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
    bench.add_argument(
        "--device", help="translate on this device (default: the GPU if training used one, or cpu)"
    )
    bench.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(command=_bench)


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


def _demo(args: argparse.Namespace) -> int:
    from nmt.translation.demo import run_demo

    started = time.perf_counter()
    result = run_demo(args.output_dir, args.overrides)
    print("\nsource | translation | reference")
    for source, translation, reference in result.examples[:8]:
        print(f"  {source} | {translation} | {reference}")
    print(f"\nheld-out BLEU: {result.bleu.score:.2f}  ({result.bleu})")
    print(f"time: {time.perf_counter() - started:.0f} s")
    print(f"checkpoint: {result.run_dir}")
    print(f"try it: echo '2024-02-29' | nmt translate predict -m {result.run_dir}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from nmt.data.textfile import STDIN, numbered_lines, numbered_stream_lines
    from nmt.translation.glossary import Glossary
    from nmt.translation.predict import Translator

    options = _search_options(args, args.n_best)
    if args.chunk_lines < 1:
        raise NmtError(f"--chunk-lines {args.chunk_lines}: give at least 1")
    if args.output:
        check_output_file(args.output)
    glossary = Glossary.read(args.glossary) if args.glossary else None
    models = args.model[0] if len(args.model) == 1 else args.model
    translator = Translator.load(models, args.device, args.quantize)
    if glossary is not None and not translator.has_glossary_memory:
        raise NmtError(f"{', '.join(args.model)}: no glossary memory, so it cannot follow "
                       f"{args.glossary}: train with model.glossary_memory=true "
                       "data.term_dictionary=FILE (see nmt translate align)")  # fmt: skip
    if args.input:
        lines = numbered_lines(args.input)
    else:
        lines = numbered_stream_lines(sys.stdin.buffer, STDIN)
    texts = (text for _, text, _ in lines)
    if args.input is None and (args.interactive or sys.stdin.isatty()):
        for number, text in enumerate(texts, start=1):
            found = translator.translate_nbest([text], options, first_line=number,
                                               glossary=glossary)  # fmt: skip
            sys.stdout.write(_format_translations(found, args.n_best, first_index=number - 1))
            sys.stdout.flush()
        return 0
    translate = functools.partial(_translate_stream, translator, texts, options, args, glossary)
    if args.output:
        atomic_write(Path(args.output), lambda tmp: _into_file(tmp, translate))
    else:
        translate(sys.stdout)
    return 0


def _translate_stream(
    translator, texts, options, args: argparse.Namespace, glossary, out: TextIO
) -> None:
    """Translate `texts` `args.chunk_lines` lines at a time (each chunk sorted by length into
    batches), writing each chunk's translations in input order before reading the next: memory
    stays bounded and output appears as it is done. A progress bar on stderr with -o."""
    from tqdm import tqdm

    from nmt.data.textfile import count_lines

    total = count_lines(args.input) if args.input else None
    done = 0
    with tqdm(total=total, unit="sent", disable=not args.output, file=sys.stderr) as bar:
        while chunk := list(itertools.islice(texts, args.chunk_lines)):
            found = translator.translate_nbest(
                chunk, options, args.batch_size, args.batch_tokens, on_batch=bar.update,
                first_line=done + 1, glossary=glossary,
            )  # fmt: skip
            out.write(_format_translations(found, args.n_best, first_index=done))
            out.flush()
            done += len(chunk)


def _into_file(path: Path, write: Callable[[TextIO], None]) -> None:
    with path.open("w", encoding="utf-8") as file:
        write(file)


def _format_translations(found, n_best: int, first_index: int = 0) -> str:
    """One line per input; with n_best > 1, n lines per input as TSV: index (from 0), score,
    text; an empty input line gives n empty rows, so every input has its n."""
    if n_best == 1:
        return "".join(f"{hyps[0].text if hyps else ''}\n" for hyps in found)
    rows = []
    for index, hypotheses in enumerate(found, start=first_index):
        rows.extend(f"{index}\t{h.score:.4f}\t{h.text}\n" for h in hypotheses)
        rows.extend(f"{index}\t0.0000\t\n" for _ in range(n_best - len(hypotheses)))
    return "".join(rows)


def _evaluate(args: argparse.Namespace) -> int:
    from nmt.translation.evaluate import evaluate_files, evaluate_model
    from nmt.translation.report import format_summary

    if args.model is None:
        report = evaluate_files(
            args.hyp, args.ref, src_path=args.src, report_dir=args.report,
            compare_path=args.compare, n_bootstrap=args.bootstrap, glossary_path=args.glossary,
        )  # fmt: skip
    elif args.src is None:
        raise NmtError("evaluate -m DIR needs --src FILE, the sentences to translate")
    else:
        models = args.model[0] if len(args.model) == 1 else args.model
        report = evaluate_model(
            models, args.src, args.ref, _search_options(args, keep_attention=bool(args.report)),
            report_dir=args.report,
            compare_path=args.compare, device=args.device, batch_size=args.batch_size,
            n_bootstrap=args.bootstrap, n_heatmaps=args.heatmaps, quantize=args.quantize,
            glossary_path=args.glossary, glossary_memory=not args.no_glossary_memory,
        )  # fmt: skip
    print(format_summary(report))
    print_report_location(args.report)
    return 0


def _average(args: argparse.Namespace) -> int:
    from nmt.translation.average import average_checkpoints

    check_output_dir(args.output)
    print(average_checkpoints(args.run_dir, args.last, args.output))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from nmt.engine.rundir import CONFIG_FILE
    from nmt.translation.bench import format_report, run_bench
    from nmt.translation.config import load

    if args.json:
        check_output_file(args.json)
    recipe = str(Path(args.model) / CONFIG_FILE) if args.model else args.config
    config = load(recipe, args.overrides)
    report = run_bench(
        config, args.model, args.steps, args.warmup, args.beam, args.batch_size,
        args.sentences, args.minutes, Path(args.profile) if args.profile else None, args.quantize,
        args.device,
    )  # fmt: skip
    print(format_report(report))
    if args.json:
        write_output(args.json, json.dumps(report, indent=2) + "\n")
    return 0

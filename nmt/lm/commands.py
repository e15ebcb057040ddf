"""`nmt lm train | sample | score`: language models, each verb one library call."""

from __future__ import annotations

import argparse
import sys

from nmt.engine.commands import add_train_verb, write_output
from nmt.engine.rundir import check_output_file
from nmt.errors import NmtError

VERBS = ("train", "sample", "score")


def add_commands(verbs: argparse._SubParsersAction) -> None:
    add_train_verb(
        verbs, "nmt.lm", help="train a language model from a recipe",
        description="Train a language model: nmt lm train -c tiny_shakespeare_char "
        "data.path=path/to/tinyshakespeare trainer.max_minutes=60",
        example="model.cell=gru",
    )  # fmt: skip

    sample = verbs.add_parser(
        "sample", help="generate text, shown as it is drawn",
        description="Draw text from a language model after --prompt (default: the start of a "
        "line): --temperature (0: the most likely token each time), --top-k, --top-p, "
        "--max-tokens, --seed; -n samples are drawn together and printed one after another.",
    )  # fmt: skip
    sample.add_argument("-m", "--model", required=True, metavar="DIR", help="model directory")
    sample.add_argument("--prompt", default="", help="text to continue")
    sample.add_argument("-n", type=int, default=1, help="samples (1)")
    sample.add_argument("--temperature", type=float, default=1.0, help="(1.0)")
    sample.add_argument("--top-k", type=int, default=None, help="the k most likely only")
    sample.add_argument("--top-p", type=float, default=None, help="nucleus sampling")
    sample.add_argument("--max-tokens", type=int, default=500, help="tokens per sample (500)")
    sample.add_argument("--seed", type=int, default=None, help="repeat a sample exactly")
    sample.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    sample.add_argument("--quantize", action="store_true", help="int8 weights: faster on CPU")
    sample.set_defaults(command=_sample)

    score = verbs.add_parser(
        "score", help="cross-entropy, perplexity and bits of a text",
        description="Score text (-i FILE or standard input) with a language model: a TSV row "
        "per line (each line on its own) and the total; --stream reads the text as one "
        "sequence with the state carried across lines, as validation does, and prints only "
        "the total.",
    )  # fmt: skip
    score.add_argument("-m", "--model", required=True, metavar="DIR", help="model directory")
    score.add_argument("-i", "--input", help="text file (default: standard input)")
    score.add_argument("-o", "--output", help="per-line TSV file (default: stdout)")
    score.add_argument("--stream", action="store_true", help="the text as one stream")
    score.add_argument(
        "--quantize", action="store_true", help="score the int8 model that --quantize samples"
    )
    score.set_defaults(command=_score)


def _sample(args: argparse.Namespace) -> int:
    from nmt.lm.predict import Sampler
    from nmt.search import SamplingOptions

    try:
        options = SamplingOptions(args.temperature, args.top_k, args.top_p, args.max_tokens)
    except ValueError as error:
        raise NmtError(f"sampling options: {error}") from None
    if args.n < 1:
        raise NmtError(f"-n {args.n}: give at least 1")
    sampler = Sampler.load(args.model, args.device, args.quantize)
    if args.n == 1:  # one sample: print each token as it is drawn
        sys.stdout.write(args.prompt)
        for pieces in sampler.stream(args.prompt, options, 1, args.seed):
            sys.stdout.write(pieces[0])
            sys.stdout.flush()
        sys.stdout.write("\n")
        return 0
    for number, text in enumerate(sampler.complete(args.prompt, options, args.n, args.seed), 1):
        sys.stdout.write(f"--- sample {number}\n{args.prompt}{text}\n")
    return 0


def _score(args: argparse.Namespace) -> int:
    from nmt.data.textfile import read_lines, read_stdin_lines
    from nmt.lm.evaluate import score_lines, score_stream
    from nmt.lm.report import format_score_lines, format_total
    from nmt.lm.run import load_language_model_dir

    if args.output:
        check_output_file(args.output)
    lines = read_lines(args.input) if args.input else read_stdin_lines()
    if not lines:
        raise NmtError(f"{args.input or 'standard input'}: no text to score")
    loaded = load_language_model_dir(args.model, quantize=args.quantize)
    if args.stream:
        print(format_total(score_stream(loaded, lines)))
        return 0
    scores = score_lines(loaded, lines)
    write_output(args.output, format_score_lines(scores))
    print(format_total(scores), file=sys.stderr if not args.output else sys.stdout)
    return 0

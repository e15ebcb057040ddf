"""`nmt memnet train | predict | evaluate`: memory-network readers that answer questions about a
story (the generated bAbI-style task needs no download). `nmt memory ...` is the older spelling."""

from __future__ import annotations

import argparse
import json

from nmt.engine.commands import add_train_verb, print_report_location, write_output
from nmt.engine.rundir import check_output_file

VERBS = ("train", "predict", "evaluate")


def add_commands(verbs: argparse._SubParsersAction) -> None:
    add_train_verb(
        verbs, "nmt.memnet", help="train a memory-network reader",
        description="Train a reader: nmt memnet train -c stories model.hops=3. Without "
        "data.path the generated story task is written into the run directory first.",
        example="model.hops=1",
    )  # fmt: skip

    predict = verbs.add_parser(
        "predict", help="answer the questions of a JSONL story file",
        description="Answer each line of a JSONL file ({\"story\": [...], \"question\": ...}): "
        "one answer per line, or with --weights one JSON object per line with the answer and "
        "each hop's addressing weights over the story's sentences (model.reader="
        "query_reduction: each layer's update gates).",
    )  # fmt: skip
    predict.add_argument("-m", "--model", required=True, metavar="DIR", help="reader directory")
    predict.add_argument("-i", "--input", required=True, metavar="FILE",
                         help="stories in the run's data.format")
    predict.add_argument("-o", "--output", help="output file, written atomically (default: stdout)")
    predict.add_argument("--weights", action="store_true", help="JSON lines with the weights")
    predict.set_defaults(command=_predict)

    evaluate = verbs.add_parser(
        "evaluate", help="accuracy per question type and addressing weights",
        description="Answer the questions of a JSONL story file (default: the run's test split) "
        "and report accuracy per question type; --report DIR adds the addressing weights of "
        "each hop for a few examples.",
    )  # fmt: skip
    evaluate.add_argument("-m", "--model", required=True, metavar="DIR", help="reader directory")
    evaluate.add_argument("--data", metavar="FILE",
                          help="stories in the run's data.format (default: its test split)")
    evaluate.add_argument("--report", metavar="DIR", help="write report.json and report.md")
    evaluate.add_argument("--examples", type=int, default=3, help="examples in the report (3)")
    evaluate.set_defaults(command=_evaluate)


def _predict(args: argparse.Namespace) -> int:
    from nmt.memnet.corpus import read_story_file
    from nmt.memnet.predict import Reader

    if args.output:
        check_output_file(args.output)
    reader = Reader.load(args.model)
    examples = read_story_file(args.input, False, reader.config.data.format)
    found = reader.answer(examples)
    if args.weights:
        lines = [json.dumps({"answer": f.answer, "weights": f.weights}) for f in found]
    else:
        lines = [f.answer for f in found]
    write_output(args.output, "".join(f"{line}\n" for line in lines))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nmt.memnet.evaluate import evaluate_reader
    from nmt.memnet.report import format_scores

    scores = evaluate_reader(args.model, args.data, args.report, args.examples)
    print(format_scores(scores))
    print_report_location(args.report)
    return 0

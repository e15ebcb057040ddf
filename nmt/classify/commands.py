"""`nmt classify train | predict | evaluate`: sentence classification, each verb one library
call."""

from __future__ import annotations

import argparse

from nmt.engine.commands import add_train_verb, print_report_location, write_output
from nmt.engine.rundir import check_output_file

VERBS = ("train", "predict", "evaluate")


def add_commands(verbs: argparse._SubParsersAction) -> None:
    add_train_verb(
        verbs, "nmt.classify", help="train a classifier from a recipe",
        description="Train a classifier: nmt classify train -c sst2_bilstm "
        "data.path=path/to/sst2 model.pooling=attention", example="model.pooling=mean",
    )  # fmt: skip

    predict = verbs.add_parser(
        "predict", help="label each line of a text file",
        description="Classify one text per line (-i FILE or standard input): one label per "
        "line, in input order (an empty line gives an empty line); --probabilities adds each "
        "label's probability (TSV: label, then label:probability for every label).",
    )  # fmt: skip
    predict.add_argument("-m", "--model", required=True, metavar="DIR", help="classifier directory")
    predict.add_argument("-i", "--input", help="input file (default: standard input)")
    predict.add_argument("-o", "--output", help="output file, written atomically (default: stdout)")
    predict.add_argument("--probabilities", action="store_true", help="add every probability")
    predict.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    predict.set_defaults(command=_predict)

    evaluate = verbs.add_parser(
        "evaluate", help="score a classifier on a labelled file",
        description="Classify the texts of a labelled file (the columns the model was trained "
        "on; TSV/CSV with a header, or JSONL) and score them against the file's labels: "
        "accuracy, macro-F1, per-class precision/recall/F1, confusion matrix. --report DIR "
        "writes report.json, report.md and confusion.png.",
    )  # fmt: skip
    evaluate.add_argument("-m", "--model", required=True, metavar="DIR", help="classifier")
    evaluate.add_argument("--data", required=True, metavar="FILE", help="labelled file")
    evaluate.add_argument("--format", choices=["tsv", "csv", "jsonl"], help="default: by name")
    evaluate.add_argument("--report", metavar="DIR", help="write report.json, report.md, PNG")
    evaluate.add_argument("--examples", type=int, default=5, help="attention examples (5)")
    evaluate.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    evaluate.set_defaults(command=_evaluate)


def _predict(args: argparse.Namespace) -> int:
    from nmt.classify.predict import Classifier
    from nmt.data.textfile import read_lines, read_stdin_lines

    if args.output:
        check_output_file(args.output)
    classifier = Classifier.load(args.model, args.device)
    texts = read_lines(args.input) if args.input else read_stdin_lines()
    rows = []
    for prediction in classifier.classify(texts):
        if prediction is None:
            rows.append("")
        elif args.probabilities:
            pairs = zip(classifier.labels, prediction.probabilities)
            rows.append("\t".join([prediction.label, *(f"{k}:{p:.4f}" for k, p in pairs)]))
        else:
            rows.append(prediction.label)
    write_output(args.output, "".join(f"{row}\n" for row in rows))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nmt.classify.evaluate import evaluate_classifier
    from nmt.classify.report import format_scores

    scores = evaluate_classifier(
        args.model, args.data, args.format, args.report, args.examples, args.device
    )
    print(format_scores(scores))
    print_report_location(args.report)
    return 0



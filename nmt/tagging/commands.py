"""`nmt tag train | predict | evaluate`: sequence taggers (POS, NER), each verb one library call."""

from __future__ import annotations

import argparse

from nmt.engine.commands import add_train_verb, print_report_location, write_output
from nmt.engine.rundir import check_output_file
from nmt.errors import NmtError

VERBS = ("train", "predict", "evaluate")


def add_commands(verbs: argparse._SubParsersAction) -> None:
    add_train_verb(
        verbs, "nmt.tagging", help="train a tagger from a recipe",
        description="Train a tagger: nmt tag train -c ud_en_ewt_pos "
        "data.path=path/to/UD_English-EWT trainer.max_minutes=30", example="model.crf=true",
    )  # fmt: skip

    predict = verbs.add_parser(
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
    predict.set_defaults(command=_predict)

    evaluate = verbs.add_parser(
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
    evaluate.set_defaults(command=_evaluate)


def _predict(args: argparse.Namespace) -> int:
    from nmt.data.textfile import read_stdin_lines
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
    if args.output:
        check_output_file(args.output)
    tagger = Tagger.load(args.model, args.device)
    tag_column = args.tag_column or ("upos" if file_format == "conllu" else "-1")
    if args.input:
        sentences = read_sentences(args.input, file_format, tag_column)
    else:
        sentences = token_sentences(read_stdin_lines())
    predictions = tagger.tag([sentence.tokens for sentence in sentences], args.batch_tokens)
    write_output(args.output, format_predictions(args.input, predictions, file_format, tag_column))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nmt.tagging.evaluate import evaluate_tagger
    from nmt.tagging.report import format_scores

    scores = evaluate_tagger(
        args.model, args.data, args.format, args.tag_column, args.report, args.device,
        args.batch_tokens,
    )  # fmt: skip
    print(format_scores(scores))
    print_report_location(args.report)
    return 0

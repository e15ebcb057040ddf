"""Choose, on the validation set only, what a finished translation run is decoded with (its best
checkpoint or the average of its last N step checkpoints, beam size, length penalty), then score
the test set with that choice; optionally the same for an ensemble of runs.

    python benchmarks/choose_decoding.py -m checkpoints/multi30k_en_de_best \\
        --data ../shared/data/multi30k --average 3 5 --beams 5 10 --length-penalties 0.6 1.0 1.4

Prints the validation table, the choice, and test BLEU/chrF/TER with translation speed, for the
choice and for the defaults (best checkpoint, beam 5, length penalty 1.0; one row when they are
the same). With
`--ensemble RUN ...` also each of those runs alone, and their ensemble with this run's best
checkpoint (defaults) and with the chosen weights and decoding (the runs must share a
tokenizer). Not part of the test suite; run it on an otherwise idle machine (speed figures).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import sacrebleu

from nmt.data.textfile import read_lines
from nmt.search import SearchOptions
from nmt.translation.average import average_checkpoints
from nmt.translation.metrics import corpus_scores
from nmt.translation.predict import Translator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", required=True, help="a finished translation run")
    parser.add_argument("--data", required=True, help="folder of STEM.LANG files")
    parser.add_argument("--src-lang", default="en")
    parser.add_argument("--tgt-lang", default="de")
    parser.add_argument("--validation", default="val", help="file stem (val)")
    parser.add_argument("--test", default="test2016", help="file stem (test2016)")
    parser.add_argument("--average", type=int, nargs="*", default=[3, 5],
                        help="also try the average of the last N step checkpoints")  # fmt: skip
    parser.add_argument("--beams", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--length-penalties", type=float, nargs="+", default=[0.6, 1.0, 1.4])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--ensemble", nargs="*", default=[], help="other runs to ensemble with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="choose-decoding-") as work:
        choose_and_score(args, Path(work))


def choose_and_score(args: argparse.Namespace, work: Path) -> None:
    """The validation table, the choice, and the test rows; averaged weights go under `work`."""
    val_src, val_ref = split(args, args.validation)
    test_src, test_ref = split(args, args.test)
    candidates = {"best checkpoint": Path(args.model)}
    for last in args.average:
        candidates[f"average of last {last}"] = average_checkpoints(
            args.model, last, work / f"average-{last}"
        )

    print("| weights | beam | length penalty | validation BLEU |\n|---|---:|---:|---:|")
    scores = {}
    for name, path in candidates.items():
        translator = Translator.load(path)
        for beam, alpha in itertools.product(args.beams, args.length_penalties):
            options = SearchOptions(beam_size=beam, length_penalty=alpha, keep_attention=False)
            output = translator.translate(val_src, options, args.batch_size)
            scores[name, beam, alpha] = sacrebleu.corpus_bleu(output, [val_ref]).score
            print(f"| {name} | {beam} | {alpha} | {scores[name, beam, alpha]:.2f} |", flush=True)
    name, beam, alpha = max(scores, key=scores.get)
    options = SearchOptions(beam_size=beam, length_penalty=alpha, keep_attention=False)
    print(f"\nchosen on validation: {name}, beam {beam}, length penalty {alpha}\n")

    defaults = SearchOptions(keep_attention=False)
    # When validation chose the defaults themselves, the "as chosen" rows would repeat them.
    chosen_differs = (name, beam, alpha) != ("best checkpoint", defaults.beam_size,
                                             defaults.length_penalty)  # fmt: skip
    rows = [
        ("single model, defaults (best checkpoint, beam 5, length penalty 1.0)",
         "best checkpoint", [candidates["best checkpoint"]], defaults),
    ]  # fmt: skip
    if chosen_differs:
        rows.append(("single model, as chosen", name, [candidates[name]], options))
    for member in args.ensemble:
        rows.append((f"{member} alone, defaults", member, [Path(member)], defaults))
    if args.ensemble:
        size = 1 + len(args.ensemble)
        rows.append((f"ensemble of {size}, defaults (best checkpoints)", None,
                     [candidates["best checkpoint"], *args.ensemble], defaults))  # fmt: skip
        if chosen_differs:
            rows.append((f"ensemble of {size}, as chosen", None,
                         [candidates[name], *args.ensemble], options))  # fmt: skip
    print("| model | validation BLEU | test BLEU | test chrF | test TER | test sentences/s |\n"
          "|---|---:|---:|---:|---:|---:|")  # fmt: skip
    for label, weights, paths, row_options in rows:
        translator = Translator.load(paths if len(paths) > 1 else paths[0])
        val_bleu = scores.get((weights, row_options.beam_size, row_options.length_penalty))
        if val_bleu is None or len(paths) > 1:  # not among the validation grid's single models
            val_output = translator.translate(val_src, row_options, args.batch_size)
            val_bleu = sacrebleu.corpus_bleu(val_output, [val_ref]).score
        started = time.perf_counter()
        output = translator.translate(test_src, row_options, args.batch_size)
        speed = len(test_src) / (time.perf_counter() - started)
        test = corpus_scores(output, [test_ref])
        print(f"| {label} | {val_bleu:.2f} | {test.bleu.score:.2f} | {test.chrf.score:.2f} | "
              f"{test.ter.score:.2f} | "
              f"{speed:.1f} |", flush=True)  # fmt: skip


def split(args: argparse.Namespace, stem: str) -> tuple[list[str], list[str]]:
    """Sources and references of one file stem."""
    folder = Path(args.data)
    return (read_lines(folder / f"{stem}.{args.src_lang}"),
            read_lines(folder / f"{stem}.{args.tgt_lang}"))  # fmt: skip


if __name__ == "__main__":
    main()

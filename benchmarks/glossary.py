"""The glossary memory's figures for one trained model: term use rate and BLEU on the attested and
counterfactual sets (data_scripts/glossary_sets.py) with the glossary given to the model and
without it (the same model as its own baseline), BLEU on the whole test set with and without the
attested glossary (given to every sentence, and given only to the attested set's sentences as
Dinu et al. do), and beam-search speed with and without it, alternating rounds.

    python data_scripts/glossary_sets.py --dictionary terms.tsv \\
        --src ../shared/data/multi30k/test2016.en --ref ../shared/data/multi30k/test2016.de \\
        --out glossary_sets
    python benchmarks/glossary.py -m checkpoints/multi30k_en_de_glossary --sets glossary_sets \\
        --src ../shared/data/multi30k/test2016.en --ref ../shared/data/multi30k/test2016.de

`--save DIR` keeps the whole test set's translations (without the glossary, with it for every
sentence, and under Dinu et al.'s protocol); `--baseline FILE` (another system's translation of
the whole test set, e.g. the plain recipe's) adds sacrebleu's paired approximate randomization
test of the protocol's translation against the same model without its glossary and against that
system: whether a BLEU difference is more than a run's luck.

Not part of the test suite; run it on an otherwise idle machine (the speed rows need it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import sacrebleu
from sacrebleu.significance import PairedTest

from nmt.data.textfile import read_lines
from nmt.search import SearchOptions
from nmt.translation.glossary import Glossary, term_use_rate, term_uses
from nmt.translation.predict import Translator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", required=True, help="a run with model.glossary_memory")
    parser.add_argument("--sets", required=True, help="glossary_sets.py's output folder")
    parser.add_argument("--src", required=True, help="the whole test set's sources")
    parser.add_argument("--ref", required=True, help="and references")
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="speed rounds per variant (2)")
    parser.add_argument("--save", help="a folder for the whole test set's translations")
    parser.add_argument("--baseline", help="another system's translation of the whole test set")
    args = parser.parse_args()
    translator = Translator.load(args.model)
    options = SearchOptions(beam_size=args.beam_size, keep_attention=False)

    def translate(sources, glossary=None):
        return translator.translate(sources, options, args.batch_size, glossary=glossary)

    print("| set | sentences | terms | term use, glossary given | term use, not given | "
          "BLEU given | BLEU not given |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for name in ("attested", "counterfactual"):
        folder = Path(args.sets) / name
        sources = read_lines(folder / "source.txt")
        references = read_lines(folder / "reference.txt")
        glossary = Glossary.read(folder / "glossary.tsv")
        given, plain = translate(sources, glossary), translate(sources)
        rates = [term_use_rate(term_uses(glossary, sources, out)) for out in (given, plain)]
        bleus = [sacrebleu.corpus_bleu(out, [references]).score for out in (given, plain)]
        print(f"| {name} | {len(sources)} | {len(term_uses(glossary, sources, plain))} | "
              f"{100 * rates[0]:.1f}% | {100 * rates[1]:.1f}% | {bleus[0]:.2f} | "
              f"{bleus[1]:.2f} |", flush=True)  # fmt: skip

    sources, references = read_lines(args.src), read_lines(args.ref)
    glossary = Glossary.read(Path(args.sets) / "attested" / "glossary.tsv")
    seconds: dict[str, list[float]] = {"without": [], "with": []}
    outputs = {}
    for _ in range(args.rounds):
        for name, given in (("without", None), ("with", glossary)):
            started = time.perf_counter()
            outputs[name] = translate(sources, given)
            seconds[name].append(time.perf_counter() - started)
    matched = sum(bool(glossary.matches(source)) for source in sources)
    print(f"\nwhole test set ({len(sources)} sentences, {matched} with a glossary match; "
          f"the attested glossary):")  # fmt: skip
    for name in ("without", "with"):
        bleu = sacrebleu.corpus_bleu(outputs[name], [references])
        rate = term_use_rate(term_uses(glossary, sources, outputs[name]))
        speeds = ", ".join(f"{len(sources) / s:.1f}" for s in seconds[name])
        print(f"  {name} glossary: BLEU {bleu.score:.2f}, term use {100 * rate:.1f}%, "
              f"sentences/s per round {speeds}")  # fmt: skip
    ratio = min(seconds["without"]) / min(seconds["with"])
    print(f"  speed with / without (best rounds): {100 * ratio:.0f}%")

    # Dinu et al.'s protocol over the whole test set: a sentence gets the glossary only where all
    # the entries it matches are attested in its reference (the attested set); others go without.
    attested = set(read_lines(Path(args.sets) / "attested" / "source.txt"))
    per_sentence = [
        given if source in attested else plain
        for source, given, plain in zip(sources, outputs["with"], outputs["without"])
    ]
    bleu = sacrebleu.corpus_bleu(per_sentence, [references])
    given_to = sum(source in attested for source in sources)
    print(f"  glossary only on the {given_to} sentences of the attested set (Dinu et al.'s "
          f"protocol over the whole test set): BLEU {bleu.score:.2f}")  # fmt: skip
    if args.save:
        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        for name, lines in (*outputs.items(), ("dinu", per_sentence)):
            (folder / f"{name}.txt").write_text("".join(f"{line}\n" for line in lines))
    if args.baseline:
        systems = [("this model without its glossary", outputs["without"]),
                   ("the baseline file", read_lines(args.baseline))]  # fmt: skip
        for name, hypotheses in systems:
            compared = paired_test(hypotheses, per_sentence, references)
            print(f"  Dinu et al.'s protocol against {name}: {compared}")


def paired_test(baseline: list[str], system: list[str], references: list[str]) -> str:
    """sacrebleu's paired approximate randomization test (10,000 trials) of `system` against
    `baseline`: both BLEU scores, the difference and its p-value."""
    if len(baseline) != len(system):
        raise SystemExit(f"the baseline has {len(baseline)} lines, the test set {len(system)}")
    test = PairedTest([("baseline", baseline), ("system", system)],
                      {"BLEU": sacrebleu.BLEU()}, [references], test_type="ar")  # fmt: skip
    _, scores = test()
    before, after = (result.score for result in scores["BLEU"])
    return (
        f"BLEU {after:.2f} against {before:.2f} ({after - before:+.2f}, "
        f"p = {scores['BLEU'][1].p_value:.3f})"
    )


if __name__ == "__main__":
    main()

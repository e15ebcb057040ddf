"""Make the two glossary evaluation sets from a test set and a term dictionary, reproducibly.

    python data_scripts/glossary_sets.py --dictionary terms.tsv \
        --src ../shared/data/multi30k/test2016.en --ref ../shared/data/multi30k/test2016.de \
        --out glossary_sets

The dictionary is `nmt translate align`'s, built from the training split only. Each set is a
folder with `source.txt`, `reference.txt` and `glossary.tsv`, for
`nmt translate evaluate -m RUN --src S --ref R --glossary G`:

- attested (Dinu et al. 2019's protocol): glossary entries (source word -> its most frequent
  translation) whose source word is in the sentence and whose target word is in the reference;
  a sentence is kept when at least one entry matches and every matching entry's target word is
  in its reference as the entry writes it (source words match whatever their case, target
  words only in their own: "Two -> Zwei" does not count as attested by "mit zwei Hunden", where
  copying the entry would put a capital in the middle of a sentence).
- counterfactual: entries that demand the dictionary's second most frequent translation
  instead of the first, and another word, not another form of it (e.g. shirt -> Oberteil where
  the model says Hemd; not Gebäude -> Gebäudes); kept sentences have
  the first translation in their reference, and the reference is edited to the second: only a
  model that follows the glossary can use it.

Entries are a seeded random sample (--terms) of the source words that qualify, so that a
sentence holds a term or two, not every word of the dictionary.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

from nmt.translation.align import TermDictionary
from nmt.translation.glossary import TOKEN, Glossary, GlossaryEntry, term_words


def make_set(
    sources: list[str],
    references: list[str],
    entries: dict[str, tuple[str, str]],
    counterfactual: bool,
) -> tuple[list[str], list[str], list[GlossaryEntry]]:
    """entries: source word -> (the translation the reference must hold, the glossary's
    target). Returns the kept sources, their (edited) references and the glossary."""
    glossary = Glossary(
        GlossaryEntry(source, target, line)
        for line, (source, (_, target)) in enumerate(sorted(entries.items()), start=1)
    )
    kept_sources, kept_references = [], []
    for source, reference in zip(sources, references):
        matches = glossary.matches(source)
        words = set(TOKEN.findall(reference))
        required = [entries[m.entry.source][0] for m in matches]
        if not matches or any(word not in words for word in required):
            continue
        if counterfactual:
            for match in matches:
                first, second = entries[match.entry.source]
                pattern = re.compile(rf"(?<!\w){re.escape(first)}(?!\w)")
                reference = pattern.sub(second, reference, count=1)
        kept_sources.append(source)
        kept_references.append(reference)
    return kept_sources, kept_references, glossary.entries


def write_set(folder: Path, sources, references, glossary: list[GlossaryEntry]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.txt").write_text("".join(f"{s}\n" for s in sources), encoding="utf-8")
    (folder / "reference.txt").write_text("".join(f"{r}\n" for r in references), encoding="utf-8")
    (folder / "glossary.tsv").write_text(
        "".join(f"{e.source}\t{e.target}\n" for e in glossary), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dictionary", required=True, help="nmt translate align's output")
    parser.add_argument("--src", required=True, help="test sources")
    parser.add_argument("--ref", required=True, help="test references")
    parser.add_argument("--out", required=True, help="folder for attested/ and counterfactual/")
    parser.add_argument("--terms", type=int, default=150, help="entries per glossary (150)")
    parser.add_argument("--min-second", type=int, default=10,
                        help="links the second translation needs to count as valid (10)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    dictionary = TermDictionary.read(args.dictionary)
    sources = Path(args.src).read_text(encoding="utf-8").splitlines()
    references = Path(args.ref).read_text(encoding="utf-8").splitlines()
    source_words = {word for line in sources for word in term_words(line)}
    reference_words = {word for line in references for word in term_words(line)}
    attested, counterfactual = {}, {}
    for source, targets in sorted(dictionary.translations.items()):
        if source.casefold() not in source_words:
            continue
        first = targets[0][0]
        if first.casefold() in reference_words:  # candidates; make_set keeps exact uses
            attested[source] = (first, first)
            # The second translation must be another word, not another form of the first
            # (Gebäude / Gebäudes): a shared start of four letters counts as the same word.
            if (len(targets) > 1 and targets[1][1] >= args.min_second
                    and targets[1][0].casefold()[:4] != first.casefold()[:4]):  # fmt: skip
                counterfactual[source] = (first, targets[1][0])
    rng = random.Random(args.seed)
    for name, candidates, edit in (("attested", attested, False),
                                   ("counterfactual", counterfactual, True)):  # fmt: skip
        chosen = dict(rng.sample(sorted(candidates.items()), min(args.terms, len(candidates))))
        kept_sources, kept_references, glossary = make_set(sources, references, chosen, edit)
        write_set(Path(args.out) / name, kept_sources, kept_references, glossary)
        matched = sum(len(Glossary(glossary).matches(s)) for s in kept_sources)
        print(f"{name}: {len(glossary)} entries, {len(kept_sources)} sentences, {matched} "
              f"matched terms (of {len(candidates)} qualifying source words)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

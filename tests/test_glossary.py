"""Glossary files and term matching: comments, duplicates, conflicts and malformed lines named by
file and line; case-insensitive multiword matches, longest first, never overlapping; the term use
rate of translations; the evaluation sets of data_scripts/glossary_sets.py."""

import importlib.util
from pathlib import Path

import pytest

from nmt.errors import NmtError
from nmt.translation.glossary import Glossary, GlossaryEntry, term_use_rate, term_uses


def glossary_of(*pairs: tuple[str, str]) -> Glossary:
    return Glossary(GlossaryEntry(s, t, i) for i, (s, t) in enumerate(pairs, start=1))


def test_a_glossary_file_skips_comments_blank_lines_and_repeats(tmp_path):
    path = tmp_path / "terms.tsv"
    path.write_text("# shop terms\ncheckout\tKasse\n\n  # indented comment\n"
                    "Credit Card\tKreditkarte\ncheckout\tKasse\n")  # fmt: skip
    glossary = Glossary.read(path)
    assert [(e.source, e.target, e.line) for e in glossary.entries] == [
        ("checkout", "Kasse", 2), ("Credit Card", "Kreditkarte", 5)]  # fmt: skip


@pytest.mark.parametrize(
    "text, message",
    [("checkout\tKasse\nbasket Warenkorb\n", ":2: expected 'source term<TAB>target term'"),
     ("a\tb\tc\n", ":1: expected"), ("\tKasse\n", ":1: expected"),
     ("checkout\t \n", ":1: expected"),
     ("checkout\tKasse\nCheckout\tZahlung\n",
      ":2: 'Checkout' is given the target 'Zahlung' here and 'Kasse' on line 1")],
)  # fmt: skip
def test_bad_glossary_lines_are_named(tmp_path, text, message):
    path = tmp_path / "terms.tsv"
    path.write_text(text)
    with pytest.raises(NmtError) as raised:
        Glossary.read(path)
    assert str(raised.value).startswith(f"{path}{message}")


def test_matches_are_case_insensitive_multiword_and_longest_first():
    glossary = glossary_of(
        ("card", "Karte"), ("credit card", "Kreditkarte"), ("card reader", "Kartenleser"),
        ("blue shirt", "blaues Hemd"),
    )  # fmt: skip
    found = glossary.matches("A man in a Blue Shirt pays by credit card reader.")
    assert [(m.entry.source, m.start, m.end) for m in found] == [
        ("blue shirt", 4, 6), ("credit card", 8, 10)]  # fmt: skip
    # "card reader" and "credit card" overlap with the same length: the leftmost wins
    assert [m.entry.source for m in glossary.matches("card reader")] == ["card reader"]
    assert [m.entry.source for m in glossary.matches("the card, the card")] == ["card", "card"]
    assert glossary.matches("cardboard shirts") == []  # whole words only


def test_term_use_rate_counts_target_terms_in_the_translations():
    glossary = glossary_of(("checkout", "Kasse"), ("blue shirt", "blaues Hemd"))
    sources = ["Go to the checkout.", "A blue shirt at the checkout.", "Nothing here."]
    outputs = ["Geh zur Kasse.", "Ein blaues hemd an der Theke.", "Nichts."]
    uses = term_uses(glossary, sources, outputs)
    assert [(u.sentence, u.entry.source, u.used) for u in uses] == [
        (0, "checkout", True), (1, "blue shirt", True), (1, "checkout", False)]  # fmt: skip
    assert term_use_rate(uses) == pytest.approx(2 / 3)
    assert term_use_rate([]) is None


def test_evaluation_sets_take_target_terms_as_written_and_edit_counterfactual_references(
    tmp_path,
):
    """data_scripts/glossary_sets.py: an entry is attested by a reference that holds its target
    as written ("Zwei" at a sentence start, not "zwei" inside one); the counterfactual set asks
    for the dictionary's second translation and edits the reference to it."""
    spec = importlib.util.spec_from_file_location(
        "glossary_sets", Path(__file__).parents[1] / "data_scripts" / "glossary_sets.py"
    )
    glossary_sets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(glossary_sets)
    (tmp_path / "terms.tsv").write_text("Two\tZwei\t40\nhat\tHut\t30\nhat\tMütze\t12\n")
    (tmp_path / "test.en").write_text("Two dogs run.\nA man with two dogs.\nA red hat.\n")
    (tmp_path / "test.de").write_text("Zwei Hunde rennen.\nEin Mann mit zwei Hunden.\n"
                                      "Ein roter Hut.\n")  # fmt: skip
    args = ["--dictionary", str(tmp_path / "terms.tsv"), "--src", str(tmp_path / "test.en"),
            "--ref", str(tmp_path / "test.de"), "--out", str(tmp_path / "sets")]  # fmt: skip
    assert glossary_sets.main(args) == 0
    attested = tmp_path / "sets" / "attested"
    assert (attested / "source.txt").read_text() == "Two dogs run.\nA red hat.\n"
    assert (attested / "glossary.tsv").read_text() == "Two\tZwei\nhat\tHut\n"
    counterfactual = tmp_path / "sets" / "counterfactual"
    assert (counterfactual / "glossary.tsv").read_text() == "hat\tMütze\n"
    assert (counterfactual / "reference.txt").read_text() == "Ein roter Mütze.\n"

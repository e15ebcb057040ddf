"""Glossary files and term matching: comments, duplicates, conflicts and malformed lines named by
file and line; case-insensitive multiword matches, longest first, never overlapping; the term use
rate of translations."""

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

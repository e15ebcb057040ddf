import datetime

import pytest

from nmt.errors import NmtError
from nmt.translation.synthetic import (
    TASKS,
    date_target,
    make_pairs,
    ordinal_words,
    write_task_splits,
)


def test_known_dates_map_to_the_exact_wording():
    assert date_target(datetime.date(2023, 4, 17)) == "the seventeenth of april 2023"
    assert date_target(datetime.date(1950, 1, 1)) == "the first of january 1950"
    assert date_target(datetime.date(2049, 12, 31)) == "the thirty first of december 2049"
    assert date_target(datetime.date(2000, 2, 29)) == "the twenty ninth of february 2000"
    words = [ordinal_words(day) for day in (2, 3, 11, 12, 20, 22, 30)]
    assert words == ["second", "third", "eleventh", "twelfth", "twentieth", "twenty second",
                     "thirtieth"]  # fmt: skip


def test_every_date_format_has_the_one_target():
    pairs = make_pairs("dates", 3000, seed=1)
    # Parse each source back independently of the generator and compare with the target.
    for src, tgt in pairs:
        assert date_target(_parse(src)) == tgt
        assert 5 <= len(tgt.split()) <= 7
    assert {_format_of(src) for src, _ in pairs} == {"iso", "dot", "slash", "month day", "day mon"}


def _format_of(src: str) -> str:
    if "-" in src:
        return "iso"
    if "." in src:
        return "dot"
    if "/" in src:
        return "slash"
    return "month day" if "," in src else "day mon"


def _parse(src: str) -> datetime.date:
    patterns = {"iso": "%Y-%m-%d", "dot": "%d.%m.%Y", "slash": "%d/%m/%Y",
                "month day": "%B %d, %Y", "day mon": "%d %b %Y"}  # fmt: skip
    return datetime.datetime.strptime(src, patterns[_format_of(src)]).date()


def test_symbol_tasks():
    for src, tgt in make_pairs("reverse", 200, seed=0):
        assert tgt.split() == src.split()[::-1]
        assert 3 <= len(src.split()) <= 10 and set(src.split()) <= set("abcdefghij")
    assert all(src == tgt for src, tgt in make_pairs("copy", 200, seed=0))


@pytest.mark.parametrize("task", TASKS)
def test_pairs_are_deterministic_and_distinct(task):
    pairs = make_pairs(task, 500, seed=7)
    assert pairs == make_pairs(task, 500, seed=7)
    assert pairs != make_pairs(task, 500, seed=8)
    assert len({src for src, _ in pairs}) == 500


def test_write_task_splits(tmp_path):
    sizes = {"train": 300, "validation": 50, "test": 40}
    languages = dict(src_lang="xx", tgt_lang="en")
    out = write_task_splits("dates", tmp_path / "dates", sizes, seed=3, **languages)
    sources = {}
    for split, size in sizes.items():
        src_lines = (out / f"{split}.xx").read_text(encoding="utf-8").splitlines()
        tgt_lines = (out / f"{split}.en").read_text(encoding="utf-8").splitlines()
        assert len(src_lines) == len(tgt_lines) == size
        assert all(date_target(_parse(s)) == t for s, t in zip(src_lines, tgt_lines))
        sources[split] = set(src_lines)
    assert not sources["train"] & sources["validation"]
    assert not sources["train"] & sources["test"]
    assert not sources["validation"] & sources["test"]
    again = write_task_splits("dates", tmp_path / "again", sizes, seed=3, **languages)
    assert (again / "test.en").read_bytes() == (out / "test.en").read_bytes()


def test_bad_requests_raise_nmt_error(tmp_path):
    with pytest.raises(NmtError, match="unknown synthetic task"):
        make_pairs("sorting", 10, seed=0)
    with pytest.raises(NmtError, match="distinct"):
        make_pairs("dates", 10**6, seed=0)
    with pytest.raises(NmtError, match="differ"):
        write_task_splits("copy", tmp_path, {"train": 5}, src_lang="en", tgt_lang="en")

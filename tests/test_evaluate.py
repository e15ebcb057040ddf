"""`nmt evaluate`: scores equal sacrebleu's own, the report folder, paired bootstrap, errors."""

import json
import random
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF, TER

from nmt.cli import main
from nmt.data.textfile import read_lines
from nmt.errors import NmtError
from nmt.translation.evaluate import evaluate_files

from .conftest import tiny_config

WORDS = "a man in a blue shirt is riding his bike down the street while two dogs watch".split()


def sentences(count: int, seed: int, lengths: tuple[int, int] = (3, 15)) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(*lengths))) for _ in range(count)]


def noisy(lines: list[str], seed: int) -> list[str]:
    """Each line with a word or two replaced or dropped: a plausible imperfect system."""
    rng = random.Random(seed)
    out = []
    for line in lines:
        words = line.split()
        words[rng.randrange(len(words))] = rng.choice(WORDS).upper()
        if rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        out.append(" ".join(words))
    return out


def signature(metric, hyp: list[str], refs: list[list[str]]) -> str:
    """sacrebleu's signature for the metric, which it knows once it has scored something."""
    metric.corpus_score(hyp, refs)
    return str(metric.get_signature())


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), "utf-8")
    return path


def test_scores_and_signatures_equal_sacrebleus_own_with_two_references(tmp_path):
    refs = [sentences(40, seed=1), noisy(sentences(40, seed=1), seed=9)]
    hyp = noisy(refs[0], seed=2)
    hyp_path = write(tmp_path / "hyp.txt", hyp)
    ref_paths = [write(tmp_path / f"ref{k}.txt", ref) for k, ref in enumerate(refs)]

    scores = evaluate_files(hyp_path, ref_paths).scores

    for metric, ours in [(BLEU(), scores.bleu), (CHRF(), scores.chrf), (TER(), scores.ter),
                         (BLEU(lowercase=True), scores.bleu_lowercase)]:  # fmt: skip
        expected = metric.corpus_score(hyp, refs)
        assert ours.score == expected.score and ours.text == str(expected)
        assert ours.signature == str(metric.get_signature())
        assert ours.signature.startswith("nrefs:2|")
    bleu = BLEU().corpus_score(hyp, refs)
    assert (scores.brevity_penalty, scores.length_ratio) == (bleu.bp, bleu.ratio)
    assert scores.length_ratio == pytest.approx(bleu.sys_len / bleu.ref_len)
    assert "case:lc" in scores.bleu_lowercase.signature
    assert scores.bleu_lowercase.score > scores.bleu.score  # noisy() upper-cases words


def test_report_folder_holds_scores_signatures_and_length_buckets(tmp_path):
    src = sentences(30, seed=3, lengths=(1, 50))
    ref = sentences(30, seed=4)
    hyp = noisy(ref, seed=5)
    paths = [write(tmp_path / name, lines) for name, lines in
             [("src.txt", src), ("ref.txt", ref), ("hyp.txt", hyp)]]  # fmt: skip
    report_dir = tmp_path / "report"

    evaluate_files(paths[2], [paths[1]], src_path=paths[0], report_dir=report_dir)

    for name in ("report.json", "report.md", "bleu_by_length.png"):
        assert (report_dir / name).stat().st_size > 0
    data = json.loads((report_dir / "report.json").read_text("utf-8"))
    for key, metric in [("bleu", BLEU()), ("chrf", CHRF()), ("ter", TER())]:
        assert data["scores"][key]["signature"] == signature(metric, hyp, [ref])
    assert data["bucket_by"] == "source"
    buckets = data["length_buckets"]
    assert [b["label"] for b in buckets] == ["1-10", "11-20", "21-30", "31-40", "41+"]
    assert sum(b["count"] for b in buckets) == 30
    first = [i for i, line in enumerate(src) if len(line.split()) <= 10]
    assert buckets[0]["count"] == len(first)
    assert buckets[0]["bleu"] == BLEU().corpus_score([hyp[i] for i in first],
                                                     [[ref[i] for i in first]]).score  # fmt: skip
    worst = data["worst"][0]
    assert worst["chrf"] == min(CHRF().sentence_score(h, [r]).score for h, r in zip(hyp, ref))
    assert worst["src"] == src[worst["line"] - 1] and len(data["best"]) == 5
    markdown = (report_dir / "report.md").read_text("utf-8")
    assert "| 1-10 |" in markdown and "bleu_by_length.png" in markdown
    assert signature(BLEU(), hyp, [ref]).replace("|", "\\|") in markdown


def test_paired_bootstrap_finds_a_real_difference_and_none_between_equal_files(tmp_path):
    ref = sentences(100, seed=6)
    halved = [" ".join(line.split()[::2]) for line in ref]
    ref_path, halved_path = write(tmp_path / "ref.txt", ref), write(tmp_path / "half.txt", halved)

    better = evaluate_files(ref_path, [ref_path], compare_path=halved_path).comparison
    same = evaluate_files(halved_path, [ref_path], compare_path=halved_path).comparison

    assert [c.metric for c in better] == ["BLEU", "chrF2"]
    for comparison in better:
        assert comparison.difference > 0 and comparison.p_value < 0.05 and comparison.significant
        assert "bs:1000|seed:12345" in comparison.signature
    for comparison in same:
        assert comparison.difference == 0 and comparison.p_value == 1.0
        assert not comparison.significant


def test_cli_prints_every_score_with_its_signature_and_the_comparison(tmp_path, capsys):
    ref_lines = sentences(50, seed=7)
    hyp_lines = noisy(ref_lines, seed=8)
    ref, hyp = write(tmp_path / "ref.txt", ref_lines), write(tmp_path / "hyp.txt", hyp_lines)

    code = main(["evaluate", "--hyp", str(hyp), "--ref", str(ref), "--compare", str(ref),
                 "--bootstrap", "200"])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0
    for metric in (BLEU(), CHRF(), TER(), BLEU(lowercase=True)):
        assert signature(metric, hyp_lines, [ref_lines]) in out
    assert "lowercased BLEU = " in out
    assert "paired bootstrap resampling against" in out and "p = " in out


def test_line_count_mismatch_names_both_files_and_counts(tmp_path, capsys):
    hyp = write(tmp_path / "system.txt", ["a", "", "c"])
    ref = write(tmp_path / "gold.txt", ["a", "b", "c", "d"])

    with pytest.raises(NmtError, match=r"system\.txt has 3 lines but .*gold\.txt has 4"):
        evaluate_files(hyp, [ref])
    code = main(["evaluate", "--hyp", str(hyp), "--ref", str(ref)])

    err = capsys.readouterr().err
    assert code == 2
    assert "system.txt has 3 lines" in err and "gold.txt has 4" in err
    assert "Traceback" not in err


def test_every_reference_and_the_baseline_must_match_too(tmp_path):
    ref = write(tmp_path / "ref.txt", ["a", "b"])
    short = write(tmp_path / "short.txt", ["a"])
    with pytest.raises(NmtError, match=r"short\.txt has 1 lines but .*ref\.txt has 2"):
        evaluate_files(ref, [ref, short])
    with pytest.raises(NmtError, match=r"short\.txt has 1 lines"):
        evaluate_files(ref, [ref], compare_path=short)


def test_missing_and_invalid_files_are_user_errors(tmp_path, capsys):
    ref = write(tmp_path / "ref.txt", ["a", "b", "c"])
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"fine\nalso fine\nbad \xff byte\n")

    with pytest.raises(NmtError, match=r"broken\.txt:3: not valid UTF-8"):
        evaluate_files(broken, [ref])
    code = main(["evaluate", "--hyp", str(tmp_path / "nowhere.txt"), "--ref", str(ref)])
    assert code == 2 and "nowhere.txt: cannot read" in capsys.readouterr().err
    code = main(["evaluate", "-m", str(tmp_path), "--ref", str(ref)])
    assert code == 2 and "needs --src" in capsys.readouterr().err


def test_lines_split_on_newline_only_and_keep_empty_ones(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes(b"one\n\ntwo\x0cstill two\r\n\n")
    assert read_lines(path) == ["one", "", "two\x0cstill two", ""]


def test_model_evaluation_writes_translations_and_attention_heatmaps(reverse_task, tmp_path):
    from nmt.translation.run import train

    config = tiny_config(reverse_task, tmp_path, "model.attention=luong",
                         "model.input_feeding=false", "trainer.max_epochs=1",
                         "trainer.max_steps=50", "trainer.val_check_interval=50")  # fmt: skip
    run_dir = train(config)
    report_dir = tmp_path / "report"
    ref = reverse_task / "test.tgt"

    code = main(["evaluate", "-m", str(run_dir), "--src", str(reverse_task / "test.src"),
                 "--ref", str(ref), "--report", str(report_dir), "--beam", "2"])  # fmt: skip

    assert code == 0
    for number in (1, 2, 3):
        assert (report_dir / f"attention_{number}.png").stat().st_size > 0
    hyp = read_lines(report_dir / "hyp.txt")
    data = json.loads((report_dir / "report.json").read_text("utf-8"))
    assert data["scores"]["bleu"]["score"] == BLEU().corpus_score(hyp, [read_lines(ref)]).score
    assert data["files"]["model_dir"] == str(run_dir)
    attention = data["attention"][0]
    assert len(attention["weights"]) == len(attention["tgt_pieces"])
    assert len(attention["weights"][0]) == len(attention["src_pieces"])
    assert "attention_1.png" in (report_dir / "report.md").read_text("utf-8")


def test_a_glossary_adds_the_term_use_rate_and_lists_the_misses(tmp_path, capsys):
    src = write(tmp_path / "src.en", ["Go to the checkout.", "A blue shirt at the checkout.",
                                      "Nothing here."])  # fmt: skip
    ref = write(tmp_path / "ref.de", ["Geh zur Kasse.", "Ein blaues Hemd an der Kasse.",
                                      "Nichts hier."])  # fmt: skip
    hyp = write(tmp_path / "hyp.de", ["Geh zur Kasse.", "Ein blaues Hemd an der Theke.",
                                      "Nichts hier."])  # fmt: skip
    terms = tmp_path / "terms.tsv"
    terms.write_text("# shop\ncheckout\tKasse\nblue shirt\tblaues Hemd\n")
    code = main(["evaluate", "--hyp", str(hyp), "--ref", str(ref), "--src", str(src),
                 "--glossary", str(terms), "--report", str(tmp_path / "report")])  # fmt: skip
    assert code == 0
    assert f"term use rate 66.67% (2 of 3 matched glossary terms used; {terms}; not given" in (
        capsys.readouterr().out
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    miss = {"line": 2, "source_term": "checkout", "target_term": "Kasse",
            "translation": "Ein blaues Hemd an der Theke."}  # fmt: skip
    assert report["terms"]["misses"] == [miss]
    assert "| 2 | checkout | Kasse | Ein blaues Hemd an der Theke. |" in (
        (tmp_path / "report" / "report.md").read_text()
    )
    # a malformed glossary is named before anything is scored; so is a missing source
    terms.write_text("checkout Kasse\n")
    assert main(["evaluate", "--hyp", str(hyp), "--ref", str(ref), "--src", str(src),
                 "--glossary", str(terms)]) == 2  # fmt: skip
    assert f"{terms}:1: expected 'source term<TAB>target term'" in capsys.readouterr().err
    assert main(["evaluate", "--hyp", str(hyp), "--ref", str(ref), "--glossary", str(terms)]) == 2
    assert "--glossary needs --src" in capsys.readouterr().err

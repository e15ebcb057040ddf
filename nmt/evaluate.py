"""`nmt evaluate`: sacrebleu BLEU, chrF and TER with their signatures, BLEU by sentence length,
best and worst sentences by chrF, and paired bootstrap resampling against a baseline (Koehn 2004,
"Statistical significance tests for machine translation evaluation"), as sacrebleu implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric, Score
from sacrebleu.significance import PairedTest, Result

from nmt.checkpoint import atomic_write
from nmt.data.textfile import read_lines
from nmt.errors import NmtError
from nmt.report import (
    SIGNIFICANCE_LEVEL,
    AttentionMap,
    CorpusScores,
    EvaluatedFiles,
    EvaluationReport,
    LengthBucket,
    MetricComparison,
    MetricScore,
    SentenceExample,
    write_report,
)
from nmt.search import SearchOptions
from nmt.translate import Translation, Translator

HYP_FILE = "hyp.txt"  # with -m, the model's translations, next to the report
LENGTH_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 10),
    (11, 20),
    (21, 30),
    (31, 40),
    (41, None),
)


class EvaluationTexts(NamedTuple):
    hyp: list[str]
    refs: list[list[str]]  # one stream per reference file, each parallel to hyp
    src: list[str] | None = None
    baseline: list[str] | None = None  # a second system, compared with hyp


def read_parallel(path: str | Path, like: str | Path, count: int) -> list[str]:
    """The lines of path, which must be as many as the `count` lines of the file `like`."""
    lines = read_lines(path)
    if len(lines) != count:
        raise NmtError(
            f"line counts differ: {path} has {len(lines)} lines but {like} has {count} "
            "(one line per sentence in every file)"
        )
    return lines


def read_references(ref_paths: Sequence[str | Path]) -> list[list[str]]:
    if not ref_paths:
        raise NmtError("no reference file given")
    first = read_lines(ref_paths[0])
    return [first] + [read_parallel(path, ref_paths[0], len(first)) for path in ref_paths[1:]]


def evaluate_files(
    hyp_path: str | Path,
    ref_paths: Sequence[str | Path],
    src_path: str | Path | None = None,
    report_dir: str | Path | None = None,
    compare_path: str | Path | None = None,
    n_bootstrap: int = 1000,
    n_examples: int = 5,
) -> EvaluationReport:
    """Scores a file of translations against one or more reference files (and against a baseline
    system with compare_path); with report_dir, writes the report there."""
    refs = read_references(ref_paths)
    count = len(refs[0])
    texts = EvaluationTexts(
        hyp=read_parallel(hyp_path, ref_paths[0], count),
        refs=refs,
        src=None if src_path is None else read_parallel(src_path, ref_paths[0], count),
        baseline=None if compare_path is None else read_parallel(compare_path, hyp_path, count),
    )
    files = EvaluatedFiles(
        str(hyp_path),
        [str(p) for p in ref_paths],
        _optional_str(src_path),
        _optional_str(compare_path),
    )
    report = evaluate_texts(texts, files, n_bootstrap=n_bootstrap, n_examples=n_examples)
    if report_dir is not None:
        write_report(report, report_dir)
    return report


def evaluate_model(
    run_dir: str | Path,
    src_path: str | Path,
    ref_paths: Sequence[str | Path],
    options: SearchOptions | None = None,
    report_dir: str | Path | None = None,
    compare_path: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    n_bootstrap: int = 1000,
    n_heatmaps: int = 3,
    quantize: bool = False,
) -> EvaluationReport:
    """Translates src_path with the checkpoint in run_dir and scores the translations. With
    report_dir, they are saved there as hyp.txt beside the report, and an attentional model adds
    heatmaps of its first n_heatmaps translations."""
    refs = read_references(ref_paths)
    src = read_parallel(src_path, ref_paths[0], len(refs[0]))
    baseline = None if compare_path is None else read_parallel(compare_path, ref_paths[0], len(src))
    translator = Translator.load(run_dir, device, quantize)
    translations = translator.translate_nbest(src, options, batch_size=batch_size)
    hyp = [found[0].text if found else "" for found in translations]
    hyp_path = f"translations by {run_dir}"
    if report_dir is not None:
        hyp_path = str(Path(report_dir) / HYP_FILE)
        text = "".join(f"{line}\n" for line in hyp)
        atomic_write(Path(hyp_path), lambda tmp: tmp.write_text(text, "utf-8"))
    files = EvaluatedFiles(
        hyp_path,
        [str(p) for p in ref_paths],
        str(src_path),
        _optional_str(compare_path),
        str(run_dir),
    )
    report = evaluate_texts(
        EvaluationTexts(hyp, refs, src, baseline), files, n_bootstrap=n_bootstrap,
        attention=attention_maps(translations, n_heatmaps),
    )  # fmt: skip
    if report_dir is not None:
        write_report(report, report_dir)
    return report


def evaluate_texts(
    texts: EvaluationTexts,
    files: EvaluatedFiles,
    n_bootstrap: int = 1000,
    n_examples: int = 5,
    attention: Sequence[AttentionMap] = (),
) -> EvaluationReport:
    """Everything the report holds, from lines already read (files only names them)."""
    if not texts.hyp:
        raise NmtError(f"{files.hyp}: no lines to score")
    by_source = texts.src is not None
    lengths = [len(line.split()) for line in (texts.src if by_source else texts.refs[0])]
    examples = sentence_examples(texts)
    comparison = None
    if texts.baseline is not None:
        comparison = paired_bootstrap(texts.hyp, texts.baseline, texts.refs, n_bootstrap)
    return EvaluationReport(
        files=files,
        lines=len(texts.hyp),
        scores=corpus_scores(texts.hyp, texts.refs),
        bucket_by="source" if by_source else "reference",
        length_buckets=bleu_by_length(texts.hyp, texts.refs, lengths),
        best=sorted(examples, key=lambda e: (-e.chrf, e.line))[:n_examples],
        worst=sorted(examples, key=lambda e: (e.chrf, e.line))[:n_examples],
        comparison=comparison,
        attention=list(attention),
    )


def corpus_scores(hyp: Sequence[str], refs: Sequence[Sequence[str]]) -> CorpusScores:
    """sacrebleu BLEU, chrF, TER and lowercased BLEU (default settings), and BLEU's length terms."""
    bleu = BLEU()
    bleu_result = bleu.corpus_score(hyp, refs)
    chrf, ter, bleu_lowercase = CHRF(), TER(), BLEU(lowercase=True)
    return CorpusScores(
        bleu=_metric_score(bleu, bleu_result),
        chrf=_metric_score(chrf, chrf.corpus_score(hyp, refs)),
        ter=_metric_score(ter, ter.corpus_score(hyp, refs)),
        bleu_lowercase=_metric_score(bleu_lowercase, bleu_lowercase.corpus_score(hyp, refs)),
        brevity_penalty=bleu_result.bp,
        length_ratio=bleu_result.ratio,
        hyp_length=bleu_result.sys_len,
        ref_length=bleu_result.ref_len,
    )


def _metric_score(metric: Metric, result: Score) -> MetricScore:
    return MetricScore(result.name, result.score, str(metric.get_signature()), str(result))


def bleu_by_length(
    hyp: Sequence[str], refs: Sequence[Sequence[str]], lengths: Sequence[int]
) -> list[LengthBucket]:
    """Corpus BLEU over the lines in each LENGTH_BUCKETS range of `lengths` (words per line)."""
    rows: list[list[int]] = [[] for _ in LENGTH_BUCKETS]
    for line, length in enumerate(lengths):
        rows[_bucket_of(length)].append(line)
    buckets = []
    for (low, high), lines in zip(LENGTH_BUCKETS, rows):
        bleu = None
        if lines:
            subset_refs = [[ref[i] for i in lines] for ref in refs]
            bleu = BLEU().corpus_score([hyp[i] for i in lines], subset_refs).score
        buckets.append(LengthBucket(f"{low}-{high}" if high else f"{low}+", len(lines), bleu))
    return buckets


def _bucket_of(length: int) -> int:
    return next(k for k, (_, high) in enumerate(LENGTH_BUCKETS) if high is None or length <= high)


def sentence_examples(texts: EvaluationTexts) -> list[SentenceExample]:
    """Every line with its sentence-level chrF (against all references), in file order."""
    chrf = CHRF()
    return [
        SentenceExample(
            line=i + 1,
            src=None if texts.src is None else texts.src[i],
            hyp=hyp,
            ref=texts.refs[0][i],
            chrf=chrf.sentence_score(hyp, [ref[i] for ref in texts.refs]).score,
        )
        for i, hyp in enumerate(texts.hyp)
    ]


def paired_bootstrap(
    hyp: Sequence[str], baseline: Sequence[str], refs: Sequence[Sequence[str]], n_bootstrap: int
) -> list[MetricComparison]:
    """BLEU and chrF of hyp against baseline by sacrebleu's paired bootstrap resampling (its seed,
    SACREBLEU_SEED, is fixed by default and shows in the signatures)."""
    if n_bootstrap < 1:
        raise NmtError(f"the number of bootstrap resamples must be at least 1, got {n_bootstrap}")
    test = PairedTest(
        [("baseline", list(baseline)), ("system", list(hyp))], {"BLEU": BLEU(), "chrF": CHRF()},
        refs, test_type="bs", n_samples=n_bootstrap,
    )  # fmt: skip
    signatures, results = test()
    return [_comparison(name, str(signatures[name]), *results[name]) for name in signatures]


def _comparison(metric: str, signature: str, baseline: Result, system: Result) -> MetricComparison:
    difference = float(system.score - baseline.score)
    # With no difference at all sacrebleu's p-value is 1 / (resamples + 1): nothing to test.
    p_value = 1.0 if difference == 0 else float(system.p_value)
    return MetricComparison(
        metric=metric,
        signature=signature,
        system=float(system.score),
        baseline=float(baseline.score),
        difference=difference,
        p_value=p_value,
        significant=p_value < SIGNIFICANCE_LEVEL,
        system_mean=float(system.mean),
        system_ci=float(system.ci),
    )


def attention_maps(translations: Sequence[Sequence[Translation]], count: int) -> list[AttentionMap]:
    """The best hypothesis's attention for the first `count` lines that have one."""
    maps: list[AttentionMap] = []
    for line, found in enumerate(translations, start=1):
        if len(maps) >= count:
            break
        if found and found[0].attention is not None:
            weights = [[round(w, 4) for w in row] for row in found[0].attention.tolist()]
            maps.append(AttentionMap(line, found[0].src_pieces, found[0].tgt_pieces, weights))
    return maps


def _optional_str(path: str | Path | None) -> str | None:
    return None if path is None else str(path)

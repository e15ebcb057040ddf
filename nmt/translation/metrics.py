"""Translation scores with sacrebleu: corpus BLEU, chrF, TER and lowercased BLEU with their
signatures, BLEU by sentence length, sentence-level chrF, and paired bootstrap resampling against
a baseline (Koehn 2004, "Statistical significance tests for machine translation evaluation"), as
sacrebleu implements it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric, Score
from sacrebleu.significance import PairedTest, Result

from nmt.errors import NmtError
from nmt.translation.report import (
    SIGNIFICANCE_LEVEL,
    CorpusScores,
    LengthBucket,
    MetricComparison,
    MetricScore,
    SentenceExample,
)

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

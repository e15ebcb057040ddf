"""What `nmt translate evaluate` measured (dataclasses that serialise to JSON) and how it is
written: a report folder with report.json, report.md and PNG plots, every file saved atomically."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from nmt.engine.rundir import atomic_write, write_report_files

LENGTH_PLOT = "bleu_by_length.png"
SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class MetricScore:
    """One sacrebleu corpus score and the signature that makes it reproducible."""

    name: str  # sacrebleu's name for the score: BLEU, chrF2, TER
    score: float
    signature: str
    text: str  # sacrebleu's one-line rendering, e.g. "BLEU = 34.2 65.1/40.3/... (BP = ...)"


@dataclass(frozen=True)
class CorpusScores:
    bleu: MetricScore
    chrf: MetricScore
    ter: MetricScore
    bleu_lowercase: MetricScore  # BLEU(lowercase=True): how Multi30k results are often published
    brevity_penalty: float
    length_ratio: float  # hyp_length / ref_length
    hyp_length: int  # BLEU tokens
    ref_length: int  # BLEU tokens of the closest reference per sentence


@dataclass(frozen=True)
class LengthBucket:
    label: str  # "1-10" ... "41+" words (an empty line counts in the first bucket)
    count: int
    bleu: float | None  # None for an empty bucket


@dataclass(frozen=True)
class SentenceExample:
    line: int  # 1-based
    src: str | None
    hyp: str
    ref: str  # the first reference
    chrf: float  # sentence-level chrF


@dataclass(frozen=True)
class MetricComparison:
    """System against baseline on one metric, by sacrebleu's paired bootstrap resampling."""

    metric: str
    signature: str  # includes the number of resamples (bs:) and the seed
    system: float
    baseline: float
    difference: float  # system - baseline
    p_value: float
    significant: bool  # p_value < SIGNIFICANCE_LEVEL
    system_mean: float  # mean over the resamples
    system_ci: float  # half-width of the 95% confidence interval


@dataclass(frozen=True)
class AttentionMap:
    line: int  # 1-based
    src_pieces: list[str]
    tgt_pieces: list[str]
    weights: list[list[float]]  # [len(tgt_pieces), len(src_pieces)]


@dataclass(frozen=True)
class EvaluatedFiles:
    hyp: str
    refs: list[str]
    src: str | None = None
    baseline: str | None = None  # --compare
    model_dir: str | None = None  # -m: the hypotheses are its translations of src


@dataclass(frozen=True)
class TermMiss:
    line: int  # 1-based
    source_term: str
    target_term: str
    translation: str


@dataclass(frozen=True)
class TermReport:
    """How often the translations used the glossary's target terms (nmt.translation.glossary)."""

    glossary: str
    entries: int  # in the glossary
    matched: int  # (sentence, entry) pairs whose source term occurs in the source sentence
    used: int  # of those, the ones whose target term occurs in the translation
    rate: float | None  # used / matched, in percent (None: nothing matched)
    misses: list[TermMiss]
    given: bool = False  # the model translated with the glossary in its memory


@dataclass(frozen=True)
class EvaluationReport:
    files: EvaluatedFiles
    lines: int
    scores: CorpusScores
    bucket_by: str  # "source" or "reference": whose length in words sorts lines into buckets
    length_buckets: list[LengthBucket]
    best: list[SentenceExample]
    worst: list[SentenceExample]
    comparison: list[MetricComparison] | None = None
    attention: list[AttentionMap] = field(default_factory=list)
    terms: TermReport | None = None  # with a glossary

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def write_report(report: EvaluationReport, folder: str | Path) -> None:
    """report.json, report.md, bleu_by_length.png and attention_K.png (K = 1, 2, ...) in folder."""
    folder = Path(folder)
    save_figure(folder / LENGTH_PLOT, plot_bleu_by_length(report.length_buckets, report.bucket_by))
    for number, attention in enumerate(report.attention, start=1):
        save_figure(folder / attention_image(number), plot_attention(attention))
    write_report_files(folder, report.to_json(), render_markdown(report))


def attention_image(number: int) -> str:
    return f"attention_{number}.png"


def save_figure(path: Path, figure: Figure) -> None:
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))


def plot_bleu_by_length(buckets: list[LengthBucket], bucket_by: str) -> Figure:
    """Bars of BLEU per length bucket, each labelled with its sentence count."""
    figure = Figure(figsize=(6, 3.5), layout="tight")  # no pyplot: no global state, Agg output
    axes = figure.add_subplot()
    bars = axes.bar([b.label for b in buckets], [b.bleu or 0.0 for b in buckets], color="tab:blue")
    axes.bar_label(bars, labels=[f"n={b.count}" for b in buckets], fontsize=8)
    axes.set_xlabel(f"{bucket_by} length (words)")
    axes.set_ylabel("BLEU")
    axes.set_ylim(0, max([b.bleu for b in buckets if b.bleu is not None] + [1.0]) * 1.15)
    axes.set_title("BLEU by length")
    return figure


def plot_attention(attention: AttentionMap) -> Figure:
    """Heatmap of attention weights: output pieces down, source pieces across."""
    width = 2 + 0.35 * len(attention.src_pieces)
    height = 1.5 + 0.3 * len(attention.tgt_pieces)
    figure = Figure(figsize=(min(width, 20), min(height, 20)), layout="tight")
    axes = figure.add_subplot()
    image = axes.imshow(attention.weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(attention.src_pieces)), attention.src_pieces, rotation=90)
    axes.set_yticks(range(len(attention.tgt_pieces)), attention.tgt_pieces)
    axes.set_xlabel("source pieces")
    axes.set_ylabel("output pieces")
    axes.set_title(f"attention, line {attention.line}")
    figure.colorbar(image, ax=axes)
    return figure


def render_markdown(report: EvaluationReport) -> str:
    parts = [
        "# Evaluation report\n", _files_markdown(report), _scores_markdown(report.scores),
        _buckets_markdown(report), _terms_markdown(report.terms),
        _comparison_markdown(report.comparison),
        _attention_markdown(report.attention),
        _examples_markdown("Best sentences (highest sentence chrF)", report.best),
        _examples_markdown("Worst sentences (lowest sentence chrF)", report.worst),
    ]  # fmt: skip
    return "\n".join(part for part in parts if part)


def _terms_markdown(terms: TermReport | None, listed: int = 50) -> str:
    if terms is None:
        return ""
    head = (f"## Glossary terms\n\n`{_cell(terms.glossary)}`: {terms.entries} entries; "
            f"{terms.matched} matched in the source, {terms.used} of them used in the "
            f"translation: term use rate {_rate(terms.rate)}. {_given(terms)}\n")  # fmt: skip
    if not terms.misses:
        return head
    rows = "".join(f"| {m.line} | {_cell(m.source_term)} | {_cell(m.target_term)} | "
                   f"{_cell(m.translation)} |\n" for m in terms.misses[:listed])  # fmt: skip
    more = f"\n({len(terms.misses) - listed} more misses in report.json)\n" if len(
        terms.misses) > listed else ""  # fmt: skip
    return (head + "\nMisses:\n\n| line | source term | target term | translation |\n"
            "|---:|---|---|---|\n" + rows + more)  # fmt: skip


def _given(terms: TermReport) -> str:
    if terms.given:
        return "The model translated with the glossary in its memory."
    return "The glossary was only checked: the model did not read it."


def _rate(rate: float | None) -> str:
    return "n/a (no source term matched)" if rate is None else f"{rate:.2f}%"


def _files_markdown(report: EvaluationReport) -> str:
    files = report.files
    rows = [
        ("hypotheses", files.hyp), *[("reference", ref) for ref in files.refs],
        ("source", files.src), ("model", files.model_dir), ("baseline", files.baseline),
    ]  # fmt: skip
    table = "".join(f"| {name} | `{_cell(value)}` |\n" for name, value in rows if value)
    return f"| | |\n|---|---|\n{table}| lines | {report.lines} |\n"


def _scores_markdown(scores: CorpusScores) -> str:
    rows = [("BLEU", scores.bleu), ("chrF", scores.chrf), ("TER", scores.ter),
            ("BLEU, lowercased", scores.bleu_lowercase)]  # fmt: skip
    table = "".join(f"| {label} | {m.score:.2f} | `{_cell(m.signature)}` |\n" for label, m in rows)
    return (
        "## Scores (sacrebleu)\n\n| metric | score | signature |\n|---|---:|---|\n" + table
        + f"\nBrevity penalty {scores.brevity_penalty:.3f}, length ratio {scores.length_ratio:.3f}"
        f" (hypothesis {scores.hyp_length} / reference {scores.ref_length} tokens).\n\n"
        f"    {scores.bleu.text}\n    lowercased {scores.bleu_lowercase.text}\n"
    )  # fmt: skip


def _buckets_markdown(report: EvaluationReport) -> str:
    rows = "".join(
        f"| {b.label} | {b.count} | {'-' if b.bleu is None else f'{b.bleu:.2f}'} |\n"
        for b in report.length_buckets
    )
    return (
        f"## BLEU by {report.bucket_by} length\n\n| {report.bucket_by} words | sentences | BLEU |\n"
        f"|---|---:|---:|\n{rows}\n![BLEU by length]({LENGTH_PLOT})\n"
    )


def _comparison_markdown(comparison: list[MetricComparison] | None) -> str:
    if comparison is None:
        return ""
    rows = "".join(
        f"| {c.metric} | {c.system:.2f} | {c.baseline:.2f} | {c.difference:+.2f} | "
        f"{c.p_value:.4f} | {'yes' if c.significant else 'no'} | `{_cell(c.signature)}` |\n"
        for c in comparison
    )
    return (
        "## Comparison with the baseline (paired bootstrap resampling)\n\n"
        f"| metric | system | baseline | difference | p-value | p < {SIGNIFICANCE_LEVEL} | "
        f"signature |\n|---|---:|---:|---:|---:|---|---|\n{rows}"
    )


def _attention_markdown(maps: list[AttentionMap]) -> str:
    images = "".join(
        f"![attention, line {a.line}]({attention_image(k)})\n" for k, a in enumerate(maps, 1)
    )
    return f"## Attention\n\n{images}" if maps else ""


def _examples_markdown(title: str, examples: list[SentenceExample]) -> str:
    with_src = any(e.src is not None for e in examples)
    columns = ["line", "chrF", *(["source"] if with_src else []), "hypothesis", "reference"]
    rows = "".join(
        f"| {e.line} | {e.chrf:.1f} | "
        + (f"{_cell(e.src or '')} | " if with_src else "")
        + f"{_cell(e.hyp)} | {_cell(e.ref)} |\n"
        for e in examples
    )
    header = f"| {' | '.join(columns)} |\n|---:|---:|{'---|' * (len(columns) - 2)}\n"
    return f"## {title}\n\n{header}{rows}"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def format_summary(report: EvaluationReport) -> str:
    """The few lines `nmt translate evaluate` prints: each score with its signature, and the
    comparison."""
    scores = report.scores
    lines = [
        scores.bleu.text, f"    {scores.bleu.signature}",
        scores.chrf.text, f"    {scores.chrf.signature}",
        scores.ter.text, f"    {scores.ter.signature}",
        f"lowercased {scores.bleu_lowercase.text}", f"    {scores.bleu_lowercase.signature}",
    ]  # fmt: skip
    if report.terms is not None:
        terms = report.terms
        lines.append(f"term use rate {_rate(terms.rate)} ({terms.used} of {terms.matched} "
                     f"matched glossary terms used; {terms.glossary}; "
                     f"{'given to' if terms.given else 'not given to'} the model)")  # fmt: skip
    if report.comparison is not None:
        lines.append(f"paired bootstrap resampling against {report.files.baseline}:")
        lines += [
            f"    {c.metric}: {c.difference:+.2f} ({c.system:.2f} vs {c.baseline:.2f}), "
            f"p = {c.p_value:.4f}, "
            + ("significant" if c.significant else "not significant")
            + f" at p < {SIGNIFICANCE_LEVEL}"
            for c in report.comparison
        ]
    return "\n".join(lines)

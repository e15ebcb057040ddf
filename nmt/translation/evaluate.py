"""`nmt translate evaluate`: score a file of translations, or a model's translations of a source
file, against references (nmt.translation.metrics), and write the report."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from nmt.data.textfile import read_lines
from nmt.engine.rundir import check_output_dir, write_text
from nmt.errors import NmtError
from nmt.search import SearchOptions
from nmt.translation.glossary import Glossary, term_uses
from nmt.translation.metrics import (
    EvaluationTexts,
    bleu_by_length,
    corpus_scores,
    paired_bootstrap,
    sentence_examples,
)
from nmt.translation.predict import Translation, Translator
from nmt.translation.report import (
    AttentionMap,
    EvaluatedFiles,
    EvaluationReport,
    TermMiss,
    TermReport,
    write_report,
)

HYP_FILE = "hyp.txt"  # with -m, the model's translations, next to the report


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
    glossary_path: str | Path | None = None,
) -> EvaluationReport:
    """Scores a file of translations against one or more reference files (and against a baseline
    system with compare_path, and the term use rate of a glossary, which needs src_path); with
    report_dir, writes the report there."""
    if report_dir is not None:
        check_output_dir(report_dir)
    glossary = _glossary(glossary_path, src_path)
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
    if glossary is not None:
        terms = term_report(glossary, str(glossary_path), texts.src or [], texts.hyp)
        report = dataclasses.replace(report, terms=terms)
    if report_dir is not None:
        write_report(report, report_dir)
    return report


def evaluate_model(
    run_dir: str | Path | Sequence[str | Path],
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
    glossary_path: str | Path | None = None,
    glossary_memory: bool = True,
) -> EvaluationReport:
    """Translates src_path with the checkpoint in run_dir and scores the translations. With
    report_dir, they are saved there as hyp.txt beside the report, and an attentional model adds
    heatmaps of its first n_heatmaps translations; several run_dirs translate as an ensemble.
    A model with a glossary memory translates with the glossary unless `glossary_memory` is
    off (the baseline on the same model); any other model's term use is only checked."""
    if report_dir is not None:
        check_output_dir(report_dir)
    glossary = _glossary(glossary_path, src_path)
    refs = read_references(ref_paths)
    src = read_parallel(src_path, ref_paths[0], len(refs[0]))
    baseline = None if compare_path is None else read_parallel(compare_path, ref_paths[0], len(src))
    translator = Translator.load(run_dir, device, quantize)
    given = glossary if glossary_memory and translator.has_glossary_memory else None
    translations = translator.translate_nbest(src, options, batch_size=batch_size, glossary=given)
    hyp = [found[0].text if found else "" for found in translations]
    name = str(run_dir) if isinstance(run_dir, (str, Path)) else " + ".join(map(str, run_dir))
    hyp_path = f"translations by {name}"
    if report_dir is not None:
        hyp_path = str(Path(report_dir) / HYP_FILE)
        write_text(Path(hyp_path), "".join(f"{line}\n" for line in hyp))
    files = EvaluatedFiles(
        hyp_path,
        [str(p) for p in ref_paths],
        str(src_path),
        _optional_str(compare_path),
        name,
    )
    report = evaluate_texts(
        EvaluationTexts(hyp, refs, src, baseline), files, n_bootstrap=n_bootstrap,
        attention=attention_maps(translations, n_heatmaps),
    )  # fmt: skip
    if glossary is not None:
        terms = term_report(glossary, str(glossary_path), src, hyp, given is not None)
        report = dataclasses.replace(report, terms=terms)
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


def term_report(
    glossary: Glossary,
    name: str,
    sources: Sequence[str],
    translations: Sequence[str],
    given: bool = False,
) -> TermReport:
    """The term use rate of `translations` of `sources`, and every miss; `given`: the model
    translated with the glossary in its memory."""
    uses = term_uses(glossary, sources, translations)
    used = sum(use.used for use in uses)
    misses = [TermMiss(use.sentence + 1, use.entry.source, use.entry.target,
                       translations[use.sentence]) for use in uses if not use.used]  # fmt: skip
    rate = 100 * used / len(uses) if uses else None
    return TermReport(name, len(glossary), len(uses), used, rate, misses, given)


def _glossary(path: str | Path | None, src_path: str | Path | None) -> Glossary | None:
    """The glossary, read before any translating (its errors name the file and line)."""
    if path is None:
        return None
    if src_path is None:
        raise NmtError("--glossary needs --src: terms are matched in the source sentences")
    return Glossary.read(path)


def _optional_str(path: str | Path | None) -> str | None:
    return None if path is None else str(path)

"""The memory study's report: the accuracy table for the terminal, report.md (settings, models,
table), accuracy.png (accuracy against delay) and gradients.png (the gradient reaching each
earlier step), all made from the results dictionary alone."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from nmt.engine.rundir import atomic_write, write_json, write_text

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
ACCURACY_PLOT = "accuracy.png"
GRADIENT_PLOT = "gradients.png"
COLOURS = {"rnn": "tab:red", "gru": "tab:green", "lstm": "tab:blue", "conv": "tab:orange"}


def write_study_files(out_dir: str | Path, results: dict[str, Any]) -> None:
    """results.json, report.md and the two plots, each written atomically."""
    out_dir = Path(out_dir)
    write_json(out_dir / RESULTS_FILE, results)
    write_text(out_dir / REPORT_FILE, markdown_report(results))
    for name, figure in [(ACCURACY_PLOT, plot_accuracy(results)),
                         (GRADIENT_PLOT, plot_gradients(results))]:  # fmt: skip
        atomic_write(out_dir / name, lambda tmp, f=figure: f.savefig(tmp, format="png", dpi=100))


def describe_settings(results: dict[str, Any]) -> str:
    s = results["settings"]
    scored = s["scored_steps"]
    gates = ("chrono initialisation of the GRU/LSTM gate biases for the sequence length (Tallec "
             "and Ollivier 2018)" if s["gate_init"] == "chrono" else "torch's default "
             "initialisation")  # fmt: skip
    return (
        f"Echo task: {s['symbols']} random symbols, one-hot; the target at step t is the input "
        f"at step t - d. Sequences of d + {scored} steps, scored at the last "
        + (
            f"{scored} (t >= d)"
            if scored > 1
            else "one (t = d): the model must carry the "
            "first symbol across d others, the latching test of Bengio et al. (1994)"
        )
        + f"; accuracy on {s['test_sequences']} held-out sequences (chance "
        f"{results['chance']:.3f}). Every model about {s['parameters']:,} parameters and the "
        f"same training: {s['steps']} steps of {s['batch_size']} fresh sequences, Adam lr "
        f"{s['lr']}, gradient norm clipped at 1, seed {s['seed']}; one fresh model per cell "
        f"and delay; {gates}."
    )


def describe_models(results: dict[str, Any]) -> list[str]:
    lines = []
    for cell, model in results["models"].items():
        unit = "channels (gated)" if model["receptive_field"] else "hidden units"
        field = ""
        if model["receptive_field"]:
            field = (f", kernel {model['kernel_size']}, dilations "
                     f"{', '.join(map(str, model['dilations']))}, receptive field "
                     f"{model['receptive_field']}")  # fmt: skip
        lines.append(f"{cell}: {model['size']} {unit}, {model['parameters']:,} parameters{field}")
    return lines


def usable_rule(results: dict[str, Any]) -> str:
    threshold = results["settings"]["threshold"]
    return (f"usable delay: the largest delay up to which every delay tried reaches accuracy "
            f">= {threshold:.2f} (- where not even the first does)")  # fmt: skip


def format_table(results: dict[str, Any]) -> str:
    """The delay x cell accuracy table with the usable delays, for the terminal."""
    cells = list(results["accuracy"])
    header = "delay " + "".join(f"{cell:>8}" for cell in cells)
    rows = [
        f"{delay:>5} " + "".join(f"{results['accuracy'][cell][i]:>8.3f}" for cell in cells)
        for i, delay in enumerate(results["settings"]["delays"])
    ]
    usable = "usable" + "".join(f"{_usable(results, cell):>8}" for cell in cells)
    return "\n".join([
        describe_settings(results), *describe_models(results), "", header, *rows, usable,
        usable_rule(results), "train seconds: " + ", ".join(
            f"{cell} {seconds}" for cell, seconds in results["train_seconds"].items()),
    ])  # fmt: skip


def markdown_report(results: dict[str, Any]) -> str:
    cells = list(results["accuracy"])
    gradients = results["gradients"]
    parts = [
        "# How far back can each cell remember?", "", describe_settings(results), "",
        "## Models", "", *(f"- {line}" for line in describe_models(results)), "",
        "## Accuracy by delay", "",
        "| delay | " + " | ".join(cells) + " |", "|---:|" + "---:|" * len(cells),
    ]  # fmt: skip
    for i, delay in enumerate(results["settings"]["delays"]):
        scores = " | ".join(f"{results['accuracy'][cell][i]:.3f}" for cell in cells)
        parts.append(f"| {delay} | {scores} |")
    parts += [
        "| **usable** | " + " | ".join(f"**{_usable(results, cell)}**" for cell in cells) + " |",
        "", usable_rule(results) + ".", "", f"![accuracy against delay]({ACCURACY_PLOT})", "",
        "## Gradient reaching each earlier step", "",
        f"The norm of d(loss at the last step) / d(input lag steps earlier), averaged over 64 "
        f"held-out sequences of {gradients['length']} steps (lag 0 .. "
        f"{gradients['length'] - 1}), for the models of delay {gradients['delay']}: at "
        f"initialisation and after training (accuracy then: "
        + ", ".join(f"{cell} {score:.3f}" for cell, score in gradients["accuracy"].items())
        + f"). The task needs the signal at lag {gradients['delay']}. A gradient of exactly 0 "
        "(the convolution's beyond its receptive field; one that underflowed) is not drawn on "
        "the log scale.", "",
        f"![gradient norm by lag]({GRADIENT_PLOT})", "",
        "Training time (s): " + ", ".join(
            f"{cell} {seconds}" for cell, seconds in results["train_seconds"].items()
        ) + f"; the whole study {results.get('wall_seconds', '?')} s (the only figures that "
        "vary between runs: the seeds fix everything else).",
    ]  # fmt: skip
    return "\n".join(parts) + "\n"


def plot_accuracy(results: dict[str, Any]) -> Figure:
    """Accuracy against delay (log x), one line per cell, with the threshold, chance and the
    convolution's reach (the largest delay its receptive field covers) marked."""
    figure = Figure(figsize=(6.5, 4), layout="tight")  # no pyplot: no global state
    axes = figure.add_subplot()
    delays = results["settings"]["delays"]
    for cell, scores in results["accuracy"].items():
        axes.plot(delays, scores, "o-", label=cell, color=COLOURS.get(cell))
    axes.axhline(results["settings"]["threshold"], color="grey", linestyle="--", linewidth=0.8,
                 label=f"threshold {results['settings']['threshold']:.2f}")  # fmt: skip
    axes.axhline(results["chance"], color="grey", linestyle=":", linewidth=0.8, label="chance")
    field = (results["models"].get("conv") or {}).get("receptive_field")
    if field:
        axes.axvline(field - 1, color=COLOURS["conv"], linestyle=":", linewidth=0.8,
                     label=f"conv reach (d = {field - 1})")  # fmt: skip
    axes.set_xscale("log")
    axes.set_xlabel("delay d (steps)")
    axes.set_ylabel("held-out accuracy")
    axes.set_ylim(0, 1.02)
    axes.set_title("Echo task: naming the symbol seen d steps ago")
    axes.legend(fontsize="small")
    return figure


def plot_gradients(results: dict[str, Any]) -> Figure:
    """Two panels (at initialisation, after training): gradient norm against lag, log y."""
    gradients = results["gradients"]
    figure = Figure(figsize=(11, 4), layout="tight")
    panels = figure.subplots(1, 2, sharey=True)
    titles = ("at initialisation", f"after training at delay {gradients['delay']}")
    for axes, when, title in zip(panels, ("initial", "trained"), titles):
        for cell, norms in gradients[when].items():
            drawn = [n if n > 0 else math.nan for n in norms]  # log scale: 0 is not drawable
            axes.plot(range(len(norms)), drawn, label=cell, color=COLOURS.get(cell))
        axes.axvline(gradients["delay"], color="grey", linestyle=":", linewidth=0.8,
                     label=f"lag {gradients['delay']}")  # fmt: skip
        axes.set_yscale("log")
        axes.set_xlabel("lag: steps back from the last step")
        axes.set_title(title)
    panels[0].set_ylabel("|| d loss(last step) / d input(lag) ||")
    panels[0].legend(fontsize="small")
    return figure


def _usable(results: dict[str, Any], cell: str) -> str:
    delay = results["usable_delay"][cell]
    return "-" if delay is None else str(delay)

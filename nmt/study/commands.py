"""`nmt study memory`: studies of the models themselves rather than tasks, each verb one library
call (torch is imported only when a verb runs, so `nmt --help` stays fast)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nmt.errors import NmtError
from nmt.study.settings import CELLS, GATE_INITS, MemorySettings

VERBS = ("memory",)
DEFAULT_OUT = "study-memory"


def add_commands(verbs: argparse._SubParsersAction) -> None:
    defaults = vars(MemorySettings())
    memory = verbs.add_parser(
        "memory", help="how far back each recurrent cell remembers (the echo task)",
        description="The echo task: random symbols, one-hot; at step t name the symbol of step "
        "t - d. A simple RNN, a GRU, an LSTM and a dilated causal convolution (fixed receptive "
        "field), each with the same parameter count and the same training, learn it at every "
        "delay d; prints the accuracy table and each cell's usable delay, and writes "
        "results.json, report.md, accuracy.png and gradients.png (the gradient the last step's "
        "loss sends back to each earlier input, at initialisation and after training) to --out.",
    )  # fmt: skip
    memory.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"output folder ({DEFAULT_OUT})")  # fmt: skip
    memory.add_argument("--force", action="store_true",
                        help="write into a folder that already holds files")  # fmt: skip
    memory.add_argument("--delays", default=_join(defaults["delays"]), metavar="D,D,...",
                        help=f"delays to try ({_join(defaults['delays'])})")  # fmt: skip
    memory.add_argument("--cells", default=_join(defaults["cells"]), metavar="CELL,...",
                        help=f"cells to compare ({_join(defaults['cells'])})")  # fmt: skip
    memory.add_argument("--gate-init", choices=GATE_INITS, default=defaults["gate_init"],
                        help="GRU/LSTM gate biases: chrono (keep gates open for the sequence "
                        f"length) or torch's default ({defaults['gate_init']})")  # fmt: skip
    for name, kind, help_text in [
        ("symbols", int, "alphabet size; chance accuracy is 1/symbols"),
        ("parameters", int, "each model's size is solved for about this many parameters"),
        ("steps", int, "training steps per model (every cell and delay the same)"),
        ("batch_size", int, "sequences per step"),
        ("lr", float, "Adam learning rate"),
        ("scored_steps", int, "steps scored per sequence (sequences are d + this long)"),
        ("conv_kernel", int, "conv kernel size; dilations kernel**level"),
        ("conv_levels", int, "conv levels: receptive field kernel**levels"),
        ("threshold", float, "accuracy that counts a delay as remembered"),
        ("gradient_delay", int, "delay of the models in gradients.png (trained if not a delay)"),
        ("seed", int, "seed of every initialisation and sequence"),
    ]:  # fmt: skip
        flag = "--" + name.replace("_", "-")
        memory.add_argument(flag, type=kind, default=defaults[name], dest=name,
                            metavar="N" if kind is int else "X",
                            help=f"{help_text} ({defaults[name]})")  # fmt: skip
    memory.set_defaults(command=_memory)


def _memory(args: argparse.Namespace) -> int:
    copied = ("symbols", "parameters", "steps", "batch_size", "lr", "scored_steps", "conv_kernel",
              "conv_levels", "threshold", "gradient_delay", "seed", "gate_init")  # fmt: skip
    settings = MemorySettings(
        delays=parse_delays(args.delays), cells=parse_cells(args.cells),
        **{name: getattr(args, name) for name in copied},
    )  # fmt: skip
    settings.check()  # before torch is imported: a mistake is named at once
    from nmt.study.memory import run_memory_study
    from nmt.study.report import format_table

    results = run_memory_study(settings, args.out, args.force)
    print(format_table(results))
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def parse_delays(text: str) -> tuple[int, ...]:
    """The delays of `--delays 1,2,5`: whole numbers >= 1, each once, in increasing order."""
    try:
        delays = [int(part) for part in text.split(",")]
    except ValueError:
        delays = []
    if not delays or min(delays) < 1:
        raise NmtError(f"--delays {text}: give whole numbers >= 1 separated by commas, "
                       "e.g. --delays 1,2,5,10")  # fmt: skip
    return tuple(sorted(set(delays)))


def parse_cells(text: str) -> tuple[str, ...]:
    cells = [part.strip() for part in text.split(",")]
    if not text.strip() or any(cell not in CELLS for cell in cells):
        raise NmtError(f"--cells {text}: choose from {_join(CELLS)} (separated by commas)")
    return tuple(dict.fromkeys(cells))


def _join(values) -> str:
    return ",".join(str(value) for value in values)

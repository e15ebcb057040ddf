"""Every `nmt ...` command the README shows is one the command line accepts, word for word (in the
new spelling and in the older spellings it lists), and the older spellings mean the new ones."""

import shlex
from pathlib import Path

import pytest

from nmt.cli import build_parser, canonical_argv

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[list[str]]:
    """The `nmt ...` command lines of the README's shell blocks (after any `|`), comments cut."""
    commands, in_shell = [], False
    for line in README.read_text("utf-8").splitlines():
        if line.startswith("```"):
            in_shell = line.strip() == "```bash"
            continue
        if not in_shell:
            continue
        command = line.split(" # ")[0].split("|")[-1].strip()
        if command.startswith("nmt "):
            commands.append(shlex.split(command)[1:])
    return commands


def parse(argv: list[str]) -> dict:
    """The parsed arguments, the handler named by its module and name (and bound arguments)."""
    parsed = vars(build_parser().parse_args(canonical_argv(argv)))
    command = parsed.pop("command")
    handler = getattr(command, "func", command)
    parsed["command"] = (handler.__module__, handler.__qualname__, getattr(command, "args", ()))
    return parsed


def test_the_readme_shows_commands_of_every_task():
    words = {argv[0] for argv in readme_commands()}
    assert {"translate", "tag", "memnet"} <= words


@pytest.mark.parametrize("argv", readme_commands(), ids=" ".join)
def test_every_readme_command_parses(argv):
    args = parse([word.replace("[", "").replace("]", "") for word in argv if word != "..."])
    assert args["command"][0].startswith("nmt.")


@pytest.mark.parametrize(
    ("older", "now"),
    [
        ("train -c demo trainer.max_epochs=2", "translate train -c demo trainer.max_epochs=2"),
        ("-v train --resume runs/a", "-v translate train --resume runs/a"),
        ("translate -m runs/a --beam 1", "translate predict -m runs/a --beam 1"),
        ("evaluate --hyp h.txt --ref r.txt", "translate evaluate --hyp h.txt --ref r.txt"),
        ("average runs/a --last 2 -o runs/b", "translate average runs/a --last 2 -o runs/b"),
        ("bench -c demo --steps 5", "translate bench -c demo --steps 5"),
        ("demo model.memory.slots=8", "translate demo model.memory.slots=8"),
        ("memory train -c stories", "memnet train -c stories"),
        ("memory evaluate -m runs/s", "memnet evaluate -m runs/s"),
        ("tag predict -m runs/t", "tag predict -m runs/t"),
    ],
)
def test_older_spellings_mean_the_new_ones(older, now):
    assert canonical_argv(older.split()) == now.split()
    assert parse(older.split()) == parse(now.split())

"""The package's shape: one folder per task with the same files, and the import rules of
README "Layout" (read from the source, so a new module is checked the day it is added)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nmt"
TASK_FILES = {
    "__init__", "config", "corpus", "vocab", "batch", "datamodule", "synthetic", "model",
    "module", "run", "predict", "evaluate", "metrics", "report", "commands",
}  # fmt: skip
DATA_ROLES = {"corpus", "vocab", "batch", "datamodule", "synthetic"}


def task_packages() -> list[str]:
    return sorted(p.parent.name for p in PACKAGE.glob("*/run.py"))


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def offending(files: list[Path], forbidden) -> list[str]:
    return [f"{f.relative_to(PACKAGE)} imports {name}" for f in files for name in sorted(imports(f))
            if forbidden(name)]  # fmt: skip


def test_every_task_package_has_the_same_files():
    assert task_packages() == ["classify", "forecast", "lm", "memnet", "tagging", "translation"]
    for task in task_packages():
        names = {p.stem for p in (PACKAGE / task).glob("*.py")}
        assert TASK_FILES <= names, f"{task} lacks {sorted(TASK_FILES - names)}"


def test_the_engine_imports_no_task_and_no_task_imports_another():
    tasks = task_packages()
    names = {f"nmt.{t}" for t in tasks}
    engine = modules(PACKAGE / "engine")
    assert offending(engine, lambda n: ".".join(n.split(".")[:2]) in names) == []
    for task in tasks:
        others = {f"nmt.{t}" for t in tasks if t != task}
        found = offending(
            modules(PACKAGE / task), lambda n, others=others: ".".join(n.split(".")[:2]) in others
        )
        assert found == [], found


def test_shared_layers_import_no_task():
    tasks = {f"nmt.{t}" for t in task_packages()}
    shared = modules(PACKAGE / "data") + modules(PACKAGE / "models") + [PACKAGE / "search.py"]
    assert offending(shared, lambda n: ".".join(n.split(".")[:2]) in tasks) == []


def test_data_modules_import_no_callbacks_and_no_models():
    """Reading, vocabularies and batching (shared or a task's) know nothing of training."""
    files = modules(PACKAGE / "data") + [
        PACKAGE / task / f"{role}.py" for task in task_packages() for role in sorted(DATA_ROLES)
    ]
    forbidden = (
        "nmt.models", "nmt.engine.callbacks", "nmt.engine.fit", "lightning.pytorch.callbacks",
    )  # fmt: skip
    assert offending(files, lambda n: n.startswith(forbidden)) == []


def test_models_are_plain_pytorch():
    """nmt/models: no Lightning, no config classes (the builders in the task packages unpack
    configs into plain arguments)."""
    found = offending(
        modules(PACKAGE / "models"),
        lambda n: n.startswith(("lightning", "nmt.engine")) or n.endswith(".config"),
    )
    assert found == []


@pytest.mark.parametrize("name", ["errors.py", "engine/rundir.py"])
def test_the_run_directory_needs_only_the_standard_library(name):
    outside = offending(
        [PACKAGE / name],
        lambda n: n.split(".")[0] not in sys.stdlib_module_names and n != "nmt.errors"
        and not n.startswith("nmt.errors."),
    )  # fmt: skip
    assert outside == []


def test_the_command_line_starts_without_torch():
    """`nmt --help` and argument errors answer at once: building the parser imports no torch."""
    code = "import sys, nmt.cli; nmt.cli.build_parser(); print(sorted(m for m in sys.modules " \
           "if m.split('.')[0] in ('torch', 'lightning', 'datasets')))"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

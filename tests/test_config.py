"""Config loading: packaged recipes, overrides, and errors that say what is valid."""

import importlib

import pytest
import yaml

from nmt.engine.config import WrongTask, recipe_names, resolve_recipe
from nmt.errors import NmtError
from nmt.memnet import config as memnet_config
from nmt.tagging import config as tagging_config
from nmt.translation.config import load as load_config


def test_packaged_recipes_load_and_overrides_apply():
    assert {"demo", "multi30k_en_de_attention", "multi30k_en_de_no_attention"} <= set(
        recipe_names()
    )
    config = load_config(
        "multi30k_en_de_attention",
        ["model.attention=luong", "trainer.max_epochs=5", "optim.lr=5e-4", "trainer.devices=2"],
    )
    assert config.model.attention == "luong"
    assert config.trainer.max_epochs == 5
    assert config.optim.lr == 0.0005
    assert config.trainer.devices == 2
    assert config.data.splits == {"train": "train", "validation": "val", "test": "test2016"}
    assert load_config("multi30k_en_de_no_attention").model.attention == "none"


@pytest.mark.parametrize("name", recipe_names())
def test_every_packaged_recipe_loads_as_its_task_config(name):
    """A recipe with a misspelt key or a value out of range fails here, not in a user's run."""
    task = yaml.safe_load(resolve_recipe(name).read_text())["task"]
    config = importlib.import_module(f"nmt.{task}.config").load(name)
    assert config.task == task and config.name == name


def test_partial_mapping_override_keeps_other_keys():
    config = load_config(None, ["data.splits.validation=dev"])
    assert config.data.splits == {"train": "train", "validation": "dev", "test": "test"}


@pytest.mark.parametrize(
    "override, expected",
    [
        ("model.attention=transformer", "choose one of: bahdanau, luong, dot, none"),
        ("model.atention=luong", "unknown key 'model.atention'; valid keys in model: cell,"),
        ("trainer.max_epochs=many", "trainer.max_epochs: expected int, got 'many'"),
        ("model.bidirectional=3", "model.bidirectional: expected true or false"),
        ("precision=16", "unknown key 'precision'; valid keys: name, output_dir, optim, trainer,"),
        ("model", "not of the form key.sub=value"),
    ],
)
def test_bad_overrides_name_the_key_and_the_valid_choices(override, expected):
    with pytest.raises(NmtError, match=None) as error:
        load_config("demo", [override])
    assert expected in str(error.value)


def test_unknown_recipe_lists_the_packaged_ones():
    with pytest.raises(NmtError) as error:
        load_config("multi30k_en_fr")
    assert "packaged recipes: " in str(error.value) and "demo" in str(error.value)


def test_errors_in_a_yaml_file_name_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("model:\n  cell: transformer\n")
    with pytest.raises(NmtError) as error:
        load_config(str(path))
    assert str(path) in str(error.value) and "model.cell" in str(error.value)
    path.write_text("model: [unclosed\n")
    with pytest.raises(NmtError, match="not valid YAML"):
        load_config(str(path))


def test_a_partly_given_section_keeps_the_tasks_own_defaults():
    """A tagger's trainer defaults (early stopping, no step checkpoints) survive an override of
    one trainer key; they used to fall back to the translator's (5 step checkpoints per run)."""
    config = tagging_config.load(None, ["trainer.max_epochs=2"])
    assert config.trainer.max_epochs == 2
    assert config.trainer.early_stopping_patience == 4
    assert config.trainer.keep_last_checkpoints == 0
    assert config.optim.label_smoothing == 0.0
    assert load_config(None, ["trainer.max_epochs=2"]).trainer.keep_last_checkpoints == 5


def test_renamed_and_retired_keys_of_older_configs_are_read(tmp_path):
    """model.memory became model.slot_memory; trainer.bleu_max_length_* left the shared trainer
    section (configs saved by taggers and readers before still hold them)."""
    config = load_config(None, ["model.memory.slots=8", "model.slot_memory.combine=concat"])
    assert (config.model.slot_memory.slots, config.model.slot_memory.combine) == (8, "concat")
    old = tmp_path / "config.yaml"
    old.write_text("task: memory\ntrainer:\n  bleu_max_length_a: 1.5\n  max_epochs: 3\n")
    reader = memnet_config.load(str(old))
    assert (reader.task, reader.trainer.max_epochs) == ("memnet", 3)
    with pytest.raises(NmtError, match="unknown key 'trainer.bleu_max_length_c'"):
        memnet_config.load(None, ["trainer.bleu_max_length_c=1"])  # only the retired keys go


def test_a_recipe_of_another_task_names_its_task():
    with pytest.raises(WrongTask) as error:
        tagging_config.load("demo")
    assert error.value.task == "translation" and "this is a translation recipe" in str(error.value)
    with pytest.raises(WrongTask):
        load_config("stories")

"""Config loading: packaged recipes, overrides, and errors that say what is valid."""

import pytest

from nmt.config import load_config, recipe_names
from nmt.errors import NmtError


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
        ("precision=16", "unknown key 'precision'; valid keys: task, name, output_dir, data,"),
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

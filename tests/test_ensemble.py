"""Ensembles at translation time: several models searched as one with averaged log-probabilities;
one model is exactly itself, models must share their tokenizer, and the CLI takes several -m."""

import sacrebleu

from nmt.cli import main
from nmt.search import SearchOptions
from nmt.translation.predict import Translator
from nmt.translation.run import train

from .conftest import tiny_config
from .test_training import read_split


def test_an_ensemble_of_one_model_is_that_model(reversal_run, reverse_task):
    sources, _ = read_split(reverse_task, "test")
    options = SearchOptions(beam_size=5, n_best=3)
    alone = Translator.load(reversal_run).translate_nbest(sources[:40], options)
    ensemble = Translator.load([reversal_run]).translate_nbest(sources[:40], options)
    assert [[(h.text, h.score) for h in found] for found in ensemble] == [
        [(h.text, h.score) for h in found] for found in alone
    ]


def test_two_models_translate_together_from_the_command_line(
    reversal_run, reverse_task, tmp_path, capsys
):
    # A second, weaker model with the same tokenizer settings (so the same pieces).
    second = train(tiny_config(reverse_task, tmp_path, "model.attention=luong",
                               "model.input_feeding=false", "trainer.max_epochs=4",
                               "trainer.seed=7"))  # fmt: skip
    sources, references = read_split(reverse_task, "test")
    source = tmp_path / "test.src"
    source.write_text("\n".join(sources) + "\n")
    assert main(["translate", "predict", "-m", str(reversal_run), "-m", str(second),
                 "-i", str(source)]) == 0  # fmt: skip
    together = capsys.readouterr().out.splitlines()
    assert len(together) == len(sources)
    assert sacrebleu.corpus_bleu(together, [references]).score >= 80
    assert main(["translate", "evaluate", "-m", str(reversal_run), "-m", str(second), "--src",
                 str(source), "--ref", str(reverse_task / "test.tgt")]) == 0  # fmt: skip
    assert "BLEU" in capsys.readouterr().out


def test_models_with_different_vocabularies_do_not_ensemble(
    reversal_run, reverse_task, tmp_path, capsys
):
    other = train(tiny_config(reverse_task, tmp_path, "tokenizer.model_type=unigram",
                              "trainer.max_epochs=1"))  # fmt: skip
    source = tmp_path / "in.txt"
    source.write_text("a b c\n")
    assert main(["translate", "predict", "-m", str(reversal_run), "-m", str(other),
                 "-i", str(source)]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert f"{other}: its src vocabulary differs" in error and "one tokenizer" in error

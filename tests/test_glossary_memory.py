"""The glossary memory: the word aligner and its term dictionary, glossary entries lined up with
sentencepiece pieces, pseudo-glossary batches, the model's copy path pinned to its step path and
to the plain model where a sentence has no entry, and a tiny model trained on the lexicon task
that copies terms it never saw, from the library and from the command line."""

import re
from pathlib import Path

import pytest
import sacrebleu
import torch

from nmt.cli import main
from nmt.data.special import BOS_ID, PAD_ID
from nmt.data.term_slots import collate_slots
from nmt.engine.config import OptimConfig
from nmt.errors import NmtError
from nmt.models.loss import smoothed_nll
from nmt.translation.align import TermDictionary, build_term_dictionary
from nmt.translation.batch import TermSampler
from nmt.translation.config import ModelConfig
from nmt.translation.glossary import (
    Glossary,
    GlossaryEntry,
    chunk_piece_spans,
    term_use_rate,
    term_uses,
    training_terms,
)
from nmt.translation.model import build_seq2seq
from nmt.translation.module import LitSeq2Seq
from nmt.translation.predict import Translator
from nmt.translation.run import train
from nmt.translation.synthetic import LEXICON, write_task_splits

from .conftest import tiny_config


@pytest.fixture(scope="module")
def lexicon_task(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lexicon")
    write_task_splits("lexicon", folder, {"train": 3000, "validation": 100, "test": 100}, seed=1)
    dictionary = build_term_dictionary(
        (folder / "train.src").read_text().splitlines(),
        (folder / "train.tgt").read_text().splitlines(), skip_frequent=0,
    )  # fmt: skip
    dictionary.write(folder / "terms.tsv")
    return folder


def test_the_aligner_recovers_the_lexicon_and_its_file_round_trips(lexicon_task):
    dictionary = TermDictionary.read(lexicon_task / "terms.tsv")
    assert {source: targets[0][0] for source, targets in dictionary.translations.items()} == dict(
        LEXICON
    )
    assert all(len(targets) == 1 for targets in dictionary.translations.values())


@pytest.mark.parametrize(
    "text, message",
    [("mesa\ttisch\n", ":1: expected 'source<TAB>target<TAB>count'"),
     ("# header\nmesa\ttisch\t3\nrolo\trad\tmany\n", ":3: expected")],
)  # fmt: skip
def test_bad_dictionary_lines_are_named(tmp_path, text, message):
    path = tmp_path / "terms.tsv"
    path.write_text(text)
    with pytest.raises(NmtError, match=rf"{path}{message}"):
        TermDictionary.read(path)


def test_the_align_command_writes_the_dictionary(lexicon_task, tmp_path, capsys):
    out = tmp_path / "terms.tsv"
    args = ["translate", "align", "--src", str(lexicon_task / "train.src"), "--tgt",
            str(lexicon_task / "train.tgt"), "-o", str(out), "--skip-frequent", "0"]  # fmt: skip
    assert main(args) == 0
    assert "12 translations of 12 source words" in capsys.readouterr().out
    assert TermDictionary.read(out).translations == TermDictionary.read(
        lexicon_task / "terms.tsv"
    ).translations
    (tmp_path / "short.tgt").write_text("tisch\n")
    args[5] = str(tmp_path / "short.tgt")
    args[7] = str(tmp_path / "other.tsv")
    assert main(args) == 2
    assert "has 3000 lines but" in capsys.readouterr().err


def test_entries_line_up_with_pieces_and_training_terms_with_the_reference():
    pieces = ["\u2581A", "\u2581T", "-", "shirt", ",", "\u2581blue", "."]
    chunks = chunk_piece_spans("A  T-shirt, blue.", pieces)
    assert chunks == [(0, 1, 0, 1), (3, 11, 1, 5), (12, 17, 5, 7)]
    assert chunk_piece_spans("A T-shirt", ["\u2581A", "\u2581T-", "\u2581shirt"]) is None
    matches = Glossary([GlossaryEntry("t-shirt", "T-Shirt", 1)]).matches("A  T-shirt, blue.")
    assert [(m.char_start, m.char_end) for m in matches] == [(3, 10)]
    targets = {"shirt": {"hemd": "Hemd", "oberteil": "Oberteil"}, "blue": {"blau": "blau"}}
    found = training_terms("a blue shirt", "ein Oberteil, ganz blau", lambda w: targets.get(w, {}))
    assert found == [(2, 6, 19, "blau"), (7, 12, 4, "Oberteil")]


def test_pseudo_glossary_batches_swap_memory_and_reference_together():
    example = {"src_ids": [5, 6, 7, 2], "tgt_ids": [10, 11, 12], "index": 0,
               "term_starts": [1], "term_ends": [2], "term_ids": [[11]],
               "term_target_starts": [1]}  # fmt: skip
    other = {**example, "index": 1, "term_ids": [[20, 21]], "tgt_ids": [10, 20, 21, 12]}
    batch = TermSampler(rate=0.0, max_terms=3)([example, other])
    assert not batch.glossary.mask.any() and batch.tgt_out[0, :3].tolist() == [10, 11, 12]
    assert batch.invented.shape == batch.tgt_out.shape and not batch.invented.any()
    swapped = 0
    for seed in range(20):
        batch = TermSampler(rate=1.0, max_terms=3, swap=0.5, seed=seed)([example])
        pieces = batch.glossary.pieces[0][batch.glossary.mask[0]].tolist()
        # Whatever the memory holds stands where the term stood in the reference.
        assert batch.tgt_out[0, 1 : 1 + len(pieces)].tolist() == pieces
        assert batch.tgt_out[0, 1 + len(pieces)] == 12
        # A swap's pieces, and only those, are marked as invented.
        invented = [False] + [pieces != [11]] * len(pieces) + [False, False]  # 12, EOS
        assert batch.invented[0].tolist() == invented
        swapped += pieces != [11]
    assert 0 < swapped < 20
    # Two terms in one sentence, swapped right to left: a longer swap on the left moves the
    # right one, and the marks move with it.
    two = {**example, "tgt_ids": [10, 11, 12, 13], "term_starts": [1, 2], "term_ends": [2, 3],
           "term_ids": [[11], [13]], "term_target_starts": [1, 3]}  # fmt: skip
    for seed in range(20):
        batch = TermSampler(rate=1.0, max_terms=2, swap=1.0, seed=seed)([two])
        tokens = batch.tgt_out[0].tolist()
        middle = tokens.index(12)  # swaps draw from the pool [11], [13]: never 12
        left, right = tokens[1:middle], tokens[middle + 1 : -1]
        expected = [False, *[left != [11]] * len(left), False, *[right != [13]] * len(right)]
        assert batch.invented[0].tolist() == [*expected, False]  # EOS


def test_slots_record_each_piece_and_the_one_before_it():
    slots = collate_slots([[(1, 3, [7, 8, 9])], []], source_length=4, pad_id=PAD_ID)
    assert slots.pieces.tolist() == [[7, 8, 9], [PAD_ID] * 3]
    prev_pieces = slots.pieces[0].gather(0, slots.predecessor[0])
    assert prev_pieces[~slots.first[0]].tolist() == [7, 8]
    assert slots.first[0].tolist() == [True, False, False]
    assert slots.predecessor[0].tolist() == [0, 0, 1]
    assert slots.span[0, 0].tolist() == [0.0, 0.5, 0.5, 0.0]
    assert slots.mask.tolist() == [[True] * 3, [False] * 3]
    with pytest.raises(ValueError, match="does not fit"):
        collate_slots([[(2, 6, [7])]], source_length=4, pad_id=PAD_ID)


@pytest.mark.parametrize("attention", ["luong", "none"])
def test_the_copy_path_equals_its_steps_and_leaves_sentences_without_entries_alone(attention):
    torch.manual_seed(0)
    config = ModelConfig(embedding_size=8, encoder_hidden_size=6, decoder_hidden_size=12,
                         dropout=0.0, attention=attention, glossary_memory=True,
                         glossary_memory_size=10)  # fmt: skip
    model = build_seq2seq(config, 30, 25).eval()
    src = torch.tensor([[5, 6, 7, 2], [8, 9, 2, PAD_ID]])
    src_lengths = torch.tensor([4, 3])
    tgt_in = torch.tensor([[BOS_ID, 11, 12, 13], [BOS_ID, 14, 15, 16]])
    slots = collate_slots([[(1, 3, [12, 13])], []], src.size(1), PAD_ID)
    positions = torch.ones_like(tgt_in, dtype=torch.bool)
    with torch.no_grad():
        args = (src, src_lengths, tgt_in, positions)
        forced = model.target_distributions(*args, slots).combined().view(2, 4, -1)
        plain = model.target_distributions(*args).combined().view(2, 4, -1)
        state = model.encode(src, src_lengths, slots)
        plain_state = model.encode(src, src_lengths)
        for t in range(tgt_in.size(1)):
            step = model.decode_step(tgt_in[:, t], state)
            plain_step = model.decode_step(tgt_in[:, t], plain_state)
            torch.testing.assert_close(step.log_probs, forced[:, t], atol=1e-5, rtol=1e-5)
            # The sentence without entries: bit for bit the model without memory.
            assert torch.equal(step.log_probs[1], plain_step.log_probs[1])
            state, plain_state = step.state, plain_step.state
        assert torch.equal(forced[1], plain[1])
        # The copy path is a distribution: it sums to one, and copying raised the term's pieces.
        assert torch.allclose(forced[0].exp().sum(-1), torch.ones(4), atol=1e-5)
        assert forced[0, 1, 12] > plain[0, 1, 12] and forced[0, 2, 13] > plain[0, 2, 13]
        # Beams follow the state, memory included.
        moved = model.reorder(model.encode(src, src_lengths, slots), torch.tensor([1, 1, 0]))
        assert moved.bank.pieces[0].tolist() == slots.pieces[1].tolist()
        assert moved.due.shape == (3, 2)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_the_output_layer_alone_learns_every_real_token_but_no_swap(weight):
    """With `glossary_generator_loss` the loss adds, beside the copy mixture's, the loss the
    model would have without a glossary (the output layer's own distribution) on the tokens
    that are not swaps; a swap's pieces can only be copied, so that loss skips them."""
    torch.manual_seed(0)
    config = ModelConfig(embedding_size=8, encoder_hidden_size=6, decoder_hidden_size=12,
                         dropout=0.0, attention="luong", glossary_memory=True,
                         glossary_memory_size=10)  # fmt: skip
    model = build_seq2seq(config, 30, 25).eval()
    module = LitSeq2Seq(
        lambda: model, OptimConfig(label_smoothing=0.1), glossary_generator_loss=weight
    )
    module.configure_model()
    example = {"src_ids": [5, 6, 7, 2], "tgt_ids": [10, 11, 12], "term_starts": [1],
               "term_ends": [2], "term_ids": [[11]], "term_target_starts": [1]}  # fmt: skip
    other = {**example, "src_ids": [8, 9, 2], "tgt_ids": [13, 14, 15, 16], "term_ids": [[14]]}
    batch = TermSampler(rate=1.0, max_terms=1, swap=1.0, seed=0)([example, other])
    assert batch.invented.any(dim=1).all()  # each sentence's term swapped for a piece or more
    with torch.no_grad():
        loss = module.token_loss(batch)
        non_pad = batch.tgt_out != PAD_ID
        target = batch.tgt_out[non_pad]
        args = (batch.src, batch.src_lengths, batch.tgt_in, non_pad)
        mixed = model.target_distributions(*args, batch.glossary).combined()
        without_glossary = model.target_distributions(*args).combined()
    real = ~batch.invented[non_pad]
    expected = smoothed_nll(mixed, target, 0.1)[0]
    expected += weight * smoothed_nll(without_glossary[real], target[real], 0.1)[0]
    assert torch.allclose(loss.loss, expected / non_pad.sum(), atol=1e-6)
    assert torch.allclose(loss.nll, smoothed_nll(mixed, target, 0.1)[1] / non_pad.sum())


@pytest.mark.parametrize("smoothing", [0.1, 0.0])
def test_the_training_loss_takes_the_same_values_and_gradients_through_the_speed_paths(smoothing):
    """With `model.custom_kernels` the loss scores the copy mixture at the slot pieces only
    (nmt.models.fast.copy_scores); plain PyTorch must give the same loss and gradients through
    the whole model, for a batch with glossary memory (the output layer's own loss added) and
    for one without."""
    example = {"src_ids": [5, 6, 7, 2], "tgt_ids": [10, 11, 12, 11], "term_starts": [1],
               "term_ends": [2], "term_ids": [[11]], "term_target_starts": [1]}  # fmt: skip
    other = {**example, "src_ids": [8, 9, 2], "tgt_ids": [13, 14, 15, 16], "term_ids": [[14, 15]]}
    with_memory = TermSampler(rate=1.0, max_terms=1, swap=0.5, seed=3)([example, other])
    assert with_memory.glossary.mask.any()
    runs = []
    for custom in (True, False):
        torch.manual_seed(0)
        config = ModelConfig(embedding_size=8, encoder_hidden_size=6, decoder_hidden_size=12,
                             dropout=0.0, attention="luong", glossary_memory=True,
                             glossary_memory_size=10, custom_kernels=custom)  # fmt: skip
        model = build_seq2seq(config, 30, 25).double()
        module = LitSeq2Seq(lambda m=model: m, OptimConfig(label_smoothing=smoothing),
                            glossary_generator_loss=0.3)  # fmt: skip
        module.configure_model()
        found = []
        for batch in (with_memory, with_memory._replace(glossary=None)):
            model.zero_grad()
            loss = module.token_loss(batch)
            loss.loss.backward()
            grads = {name: p.grad.clone() for name, p in model.named_parameters()
                     if p.grad is not None}  # fmt: skip
            found.append((loss.loss.detach(), loss.nll.detach(), grads))
        runs.append(found)
    for (fast_loss, fast_nll, fast_grads), (loss, nll, grads) in zip(*runs):
        torch.testing.assert_close(fast_loss, loss)
        torch.testing.assert_close(fast_nll, nll)
        assert fast_grads.keys() == grads.keys() and "generator.bias" in grads
        for name, grad in grads.items():  # copy_changes works in float32 (sums in other orders)
            torch.testing.assert_close(fast_grads[name], grad, rtol=1e-5, atol=1e-6,
                                       msg=lambda text, name=name: f"{name}: {text}")  # fmt: skip


@pytest.fixture(scope="module")
def glossary_run(lexicon_task, tmp_path_factory) -> Path:
    config = tiny_config(
        lexicon_task, tmp_path_factory.mktemp("glossary_runs"), "model.glossary_memory=true",
        "model.glossary_memory_size=32", "tokenizer.vocab_size=80", "trainer.max_epochs=10",
        f"data.term_dictionary={lexicon_task / 'terms.tsv'}", "data.term_rate=0.8",
        "data.term_swap=0.8",
    )  # fmt: skip
    return train(config)


@pytest.mark.parametrize("custom_kernels", [True, False])
def test_under_bf16_autocast_the_memory_addresses_in_float32(custom_kernels):
    """Under CPU bfloat16 autocast (bf16-mixed training) the memory's keys and addressing run in
    float32 (only the query projection in bfloat16): the copy weights are float32, as close to
    the float32 model's as the bfloat16 decoder allows, and a sentence without entries copies
    nothing; the loss's gradients reach the memory's weights."""
    torch.manual_seed(0)
    config = ModelConfig(embedding_size=8, encoder_hidden_size=6, decoder_hidden_size=12,
                         dropout=0.0, attention="luong", glossary_memory=True,
                         glossary_memory_size=10, custom_kernels=custom_kernels)  # fmt: skip
    model = build_seq2seq(config, 30, 25)
    src = torch.tensor([[5, 6, 7, 2], [8, 9, 2, PAD_ID]])
    src_lengths = torch.tensor([4, 3])
    tgt_in = torch.tensor([[BOS_ID, 11, 12, 13], [BOS_ID, 14, 15, 16]])
    slots = collate_slots([[(1, 3, [12, 13])], []], src.size(1), PAD_ID)
    positions = torch.ones_like(tgt_in, dtype=torch.bool)
    args = (src, src_lengths, tgt_in, positions, slots)
    with torch.no_grad():
        truth = model.target_distributions(*args).copy
    with torch.autocast("cpu", dtype=torch.bfloat16):
        found = model.target_distributions(*args)
        assert found.copy.weights.dtype == torch.float32
        assert model.encode(src, src_lengths, slots).bank.keys.dtype == torch.float32
    torch.testing.assert_close(found.copy.weights, truth.weights, atol=0.02, rtol=0.05)
    torch.testing.assert_close(found.copy.gate, truth.gate, atol=0.02, rtol=0.05)
    assert torch.equal(found.copy.gate.view(2, 4)[1], torch.zeros(4))
    found.copy.gate.sum().backward()
    memory = model.glossary
    for weight in (memory.memory.query_projection.weight, memory.span_key.weight,
                   memory.piece_key.weight, memory.sentinel.weight):  # fmt: skip
        assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_a_model_trained_with_pseudo_glossaries_copies_terms_it_never_saw(
    glossary_run, lexicon_task
):
    sources = (lexicon_task / "test.src").read_text().splitlines()
    references = (lexicon_task / "test.tgt").read_text().splitlines()
    translator = Translator.load(glossary_run)
    plain = translator.translate(sources)
    assert sacrebleu.corpus_bleu(plain, [references]).score >= 90
    # Made-up target words, spelled from pieces the model never put together.
    unseen = Glossary([GlossaryEntry("mesa", "dorfin", 1), GlossaryEntry("dano", "bluk", 2)])
    uses = term_uses(unseen, sources, translator.translate(sources, glossary=unseen))
    assert len(uses) > 50 and term_use_rate(uses) >= 0.6
    # Another lexicon word than the one the model always says for it.
    counterfactual = Glossary([GlossaryEntry("mesa", "kopf", 1)])
    followed = translator.translate(sources, glossary=counterfactual)
    uses = term_uses(counterfactual, sources, followed)
    assert len(uses) > 20 and term_use_rate(uses) >= 0.8
    # Sentences without a match translate exactly as without the glossary, in mixed batches too.
    with_glossary = translator.translate(sources, glossary=unseen)
    untouched = [i for i, source in enumerate(sources) if not unseen.matches(source)]
    assert untouched and all(with_glossary[i] == plain[i] for i in untouched)


def test_translate_and_evaluate_take_a_glossary_file(glossary_run, lexicon_task, tmp_path, capsys):
    """The glossary file reaches the model (the command's output is the Python API's with the
    same glossary), the model follows it, and evaluate counts the term uses of that output."""
    terms = tmp_path / "terms.tsv"
    terms.write_text("# another lexicon word than the usual one\nmesa\tkopf\nmesa\tkopf\n")
    source, reference = lexicon_task / "test.src", lexicon_task / "test.tgt"
    out = tmp_path / "out.txt"
    assert main(["translate", "predict", "-m", str(glossary_run), "-i", str(source), "-o",
                 str(out), "--glossary", str(terms)]) == 0  # fmt: skip
    lines = out.read_text().splitlines()
    sources = source.read_text().splitlines()
    glossary = Glossary.read(terms)
    assert len(glossary.entries) == 1  # the repeated line is one entry
    assert lines == Translator.load(glossary_run).translate(sources, glossary=glossary)
    uses = term_uses(glossary, sources, lines)
    followed = sum(use.used for use in uses)
    assert len(uses) > 20 and followed >= 0.8 * len(uses), (followed, len(uses))
    base = ["translate", "evaluate", "-m", str(glossary_run), "--src", str(source), "--ref",
            str(reference), "--glossary", str(terms)]  # fmt: skip
    assert main(base) == 0
    assert f"({followed} of {len(uses)}" in capsys.readouterr().out
    assert main([*base, "--no-glossary-memory"]) == 0
    without = re.search(r"term use rate [\d.]+% \((\d+) of", capsys.readouterr().out)
    assert without and int(without[1]) < len(uses) / 2  # the model's usual word instead
    terms.write_text("mesa\tdorfin\nfota feld\n")
    assert main(["translate", "predict", "-m", str(glossary_run), "-i", str(source),
                 "--glossary", str(terms)]) == 2  # fmt: skip
    assert f"{terms}:2: expected 'source term<TAB>target term'" in capsys.readouterr().err


def test_a_model_without_glossary_memory_refuses_a_glossary(reversal_run, tmp_path, capsys):
    terms = tmp_path / "terms.tsv"
    terms.write_text("a\tb\n")
    source = tmp_path / "in.txt"
    source.write_text("a b c\n")
    assert main(["translate", "predict", "-m", str(reversal_run), "-i", str(source),
                 "--glossary", str(terms)]) == 2  # fmt: skip
    assert "no glossary memory, so it cannot follow" in capsys.readouterr().err


def test_glossary_memory_and_term_dictionary_go_together(lexicon_task, tmp_path):
    with pytest.raises(NmtError, match="go together"):
        train(tiny_config(lexicon_task, tmp_path, "model.glossary_memory=true"))
    with pytest.raises(NmtError, match="go together"):
        train(tiny_config(lexicon_task, tmp_path, f"data.term_dictionary={tmp_path / 'x.tsv'}"))

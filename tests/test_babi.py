"""The memory-network reader on the bAbI format: reading the files (numbered lines, stories that
restart, list answers, supporting facts), bad lines named by file and line, the held-out
validation share, the reader's training aids (linear start, random noise, adjacent tying,
position encoding by each sentence's own length, the null slot), the query-reduction reader's
closed-form recurrence, and tiny readers trained with the `babi_1k` and `babi_1k_qr` recipes on
generated stories written in the bAbI format."""

import json
import random
from pathlib import Path

import pytest
import torch

from nmt.cli import main
from nmt.memnet.batch import NoisyStories
from nmt.memnet.corpus import load_story_files, read_babi_file
from nmt.memnet.synthetic import PLACES, make_stories
from nmt.models.memnet import MemoryNetworkReader, SentenceEncoder
from nmt.models.query_reduction import QueryReductionReader, reduce_in_order

TWO_STORIES = """\
1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Mary got the football there.
5 What is Mary carrying?\tfootball\t4
1 The office is east of the hallway.
2 The kitchen is north of the office.
3 How do you go from the kitchen to the hallway?\ts,w\t2 1
"""


def write_babi(path: Path, examples: list[dict]) -> Path:
    """Generated stories in the bAbI format: each story's sentences numbered from 1, then its
    question, answer and supporting sentence numbers."""
    lines = []
    for example in examples:
        story = example["story"]
        lines += [f"{i} {sentence}" for i, sentence in enumerate(story, start=1)]
        supporting = " ".join(str(i + 1) for i in example["supporting"])
        lines.append(f"{len(story) + 1} {example['question']}\t{example['answer']}\t{supporting}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_babi_lines_become_one_example_per_question(tmp_path):
    path = tmp_path / "qa1_two_train.txt"
    path.write_text(TWO_STORIES)
    examples = read_babi_file(path)
    assert examples == [
        {"story": ["Mary moved to the bathroom", "John went to the hallway"],
         "question": "Where is Mary", "answer": "bathroom", "supporting": [0]},
        {"story": ["Mary moved to the bathroom", "John went to the hallway",
                   "Mary got the football there"],
         "question": "What is Mary carrying", "answer": "football", "supporting": [2]},
        {"story": ["The office is east of the hallway", "The kitchen is north of the office"],
         "question": "How do you go from the kitchen to the hallway", "answer": "s,w",
         "supporting": [1, 0]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    "lines, number, message",
    [("1 A b.\nx Where?\tb\t1\n", 2, "expected 'N sentence'"),
     ("1 A b.\n3 C d.\n", 2, "line number 3 after 1"),
     ("1 A b.\n2 Where?\tb\t7\n", 2, "supporting number 7 is not a statement"),
     ("1 Where?\tb\t\n", 1, "a question before any statement"),
     ("1 A b.\n2 Where?\t\t1\n", 2, "the question has no answer")],
)  # fmt: skip
def test_bad_babi_lines_are_named(tmp_path, capsys, lines, number, message):
    folder = tmp_path / "babi"
    folder.mkdir()
    (folder / "qa3_bad_train.txt").write_text(lines)
    (folder / "qa3_bad_test.txt").write_text(TWO_STORIES)
    assert main(["memnet", "train", "-c", "babi_1k", f"data.path={folder}", "data.babi_task=3",
                 f"output_dir={tmp_path / 'runs'}"]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert f"{folder / 'qa3_bad_train.txt'}:{number}: {message}" in error


def test_a_missing_task_file_is_named(tmp_path, capsys):
    assert main(["memnet", "train", "-c", "babi_1k", f"data.path={tmp_path}",
                 "data.babi_task=7"]) == 2  # fmt: skip
    assert f"{tmp_path}: no file named qa7_*_train.txt" in capsys.readouterr().err


def test_a_tenth_of_the_training_questions_is_held_out_for_validation(tmp_path):
    path = write_babi(tmp_path / "qa1_gen_train.txt", make_stories(200, seed=1))
    corpus = load_story_files({"train": path}, "babi", 0.1, seed=3)
    assert (corpus["train"].num_rows, corpus["validation"].num_rows) == (180, 20)
    every = read_babi_file(path)
    assert sorted(map(str, [*corpus["train"]["story"], *corpus["validation"]["story"]])) == sorted(
        str(e["story"]) for e in every
    )  # each question in exactly one of the two
    again = load_story_files({"train": path}, "babi", 0.1, seed=3)
    assert again["validation"]["story"] == corpus["validation"]["story"]


def test_random_noise_inserts_empty_sentences_and_keeps_the_story_in_order():
    story = [[i + 2] for i in range(10)]
    noisy = NoisyStories(0.2, max_sentences=12, seed=0)
    layouts = set()
    for _ in range(20):
        out = noisy.with_empty_sentences({"story_ids": story})["story_ids"]
        assert len(out) == 12 and [s for s in out if s] == story  # 2 empty, order kept
        layouts.add(tuple(i for i, s in enumerate(out) if not s))
    assert len(layouts) > 5  # at random places
    short = NoisyStories(0.2, max_sentences=8, seed=0).with_empty_sentences({"story_ids": story})
    real = [s for s in short["story_ids"] if s]
    assert len(short["story_ids"]) == 8 and real == story[-len(real) :]  # the latest kept
    batch = noisy([{"story_ids": story, "question_ids": [2], "answer_id": 0}])
    assert batch.story_mask.all() and batch.story.size(1) == 12  # the empty ones are memories


def test_position_encoding_does_not_depend_on_padding():
    torch.manual_seed(0)
    encoder = SentenceEncoder(10, 6)
    words = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[3, 4, 5, 0, 0, 0]])
    torch.testing.assert_close(encoder(words), encoder(padded))
    assert not torch.allclose(encoder(words), encoder(torch.tensor([[5, 4, 3]])))


@pytest.mark.parametrize("tying", ["layerwise", "adjacent"])
def test_linear_start_reads_without_the_softmax_and_is_saved(tying):
    torch.manual_seed(0)
    reader = MemoryNetworkReader(12, 4, 8, hops=2, max_sentences=5, tying=tying)
    story = torch.randint(2, 12, (3, 4, 5))
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True] * 4])
    question = torch.randint(2, 12, (3, 3))
    weights = reader(story, mask, question).weights  # [B, hops, S]
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2))
    reader.linear_start = True
    linear = reader(story, mask, question).weights
    assert not torch.allclose(linear.sum(-1), torch.ones(3, 2))
    assert (linear[1, :, 2:] == 0).all()  # absent sentences are still not read
    copy = MemoryNetworkReader(12, 4, 8, hops=2, max_sentences=5, tying=tying)
    copy.load_state_dict(reader.state_dict())
    assert copy.linear_start


@pytest.mark.parametrize("tying", ["layerwise", "adjacent"])
def test_the_null_slot_can_take_a_hops_weight_and_is_no_sentence(tying):
    torch.manual_seed(0)
    story = torch.randint(2, 12, (3, 4, 5))
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True] * 4])
    question = torch.randint(2, 12, (3, 3))
    reader = MemoryNetworkReader(12, 4, 8, hops=2, max_sentences=5, tying=tying, null_slot=True)
    weights = reader(story, mask, question).weights
    assert weights.shape == (3, 2, 4)  # over the story's sentences, as without the null slot
    assert (weights.sum(-1) < 1).all() and (weights.sum(-1) > 0).all()
    assert (weights[1, :, 2:] == 0).all()
    if tying == "adjacent":
        with torch.no_grad():  # a null entry that outscores every sentence takes the read
            reader.null.fill_(0.0)
            reader.null[:, 0] = 1e4
            reader.encoders[0].embedding.weight.abs_()  # position weights are >= 0 too
        assert reader(story, mask, question).weights.sum(-1).max() < 1e-3
    copy = MemoryNetworkReader(12, 4, 8, hops=2, max_sentences=5, tying=tying, null_slot=True)
    copy.load_state_dict(reader.state_dict())
    torch.testing.assert_close(copy(story, mask, question).logits,
                               reader(story, mask, question).logits)  # fmt: skip


@pytest.fixture(scope="module")
def babi_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("babi")
    stories = make_stories(5000, seed=11)
    simple = [e for e in stories if e["type"] == "where_person"]  # one supporting fact
    write_babi(folder / "qa1_where-person_train.txt", simple[:1000])
    write_babi(folder / "qa1_where-person_test.txt", simple[1000:1100])
    return folder


def test_the_babi_recipe_learns_a_one_fact_task_and_answers_its_test_file(
    babi_folder, tmp_path, capsys
):
    assert main(["memnet", "train", "-c", "babi_1k", f"data.path={babi_folder}",
                 "data.babi_task=1", f"output_dir={tmp_path}", "name=qa1", "model.linear_start=5",
                 "trainer.max_epochs=30", "trainer.progress_bar=false"]) == 0  # fmt: skip
    assert "linear start ends after 5 epochs" in capsys.readouterr().err
    run = tmp_path / "qa1"
    assert main(["memnet", "evaluate", "-m", str(run), "--report", str(tmp_path / "r")]) == 0
    scores = json.loads((tmp_path / "r" / "report.json").read_text())
    assert scores["questions"] == 100 and scores["data"].endswith("qa1_where-person_test.txt")
    assert scores["accuracy"] >= 90.0, scores["accuracy"]  # percent; chance is about 17
    capsys.readouterr()
    # predict reads the same format: one answer per question
    assert main(["memnet", "predict", "-m", str(run), "-i",
                 str(babi_folder / "qa1_where-person_test.txt")]) == 0  # fmt: skip
    answers = capsys.readouterr().out.splitlines()
    truth = [e["answer"] for e in read_babi_file(babi_folder / "qa1_where-person_test.txt")]
    assert len(answers) == 100
    assert sum(a == t for a, t in zip(answers, truth)) == round(scores["accuracy"])


def yes_no_stories(count: int, seed: int) -> list[dict]:
    """Generated "is mary in the kitchen ?" questions (bAbI task 6's kind), half of them yes:
    each asks about a person's last place or another place."""
    rng = random.Random(seed)
    examples = []
    for example in make_stories(count * 5, seed=seed):
        if example["type"] != "where_person":
            continue
        person, place = example["question"].split()[2], example["answer"]
        yes = rng.random() < 0.5
        asked = place if yes else rng.choice([p for p in PLACES if p != place])
        examples.append({**example, "question": f"is {person} in the {asked} ?",
                         "answer": "yes" if yes else "no"})  # fmt: skip
        if len(examples) == count:
            break
    return examples


def test_the_null_slot_lets_the_reader_answer_yes_no_questions(tmp_path):
    """Whether the asked place is the person's last place: without an entry to read when no
    sentence says "yes", the reader stays far below; the recipe (with it) learns the task."""
    examples = yes_no_stories(1100, seed=5)
    write_babi(tmp_path / "qa6_yes-no_train.txt", examples[:1000])
    write_babi(tmp_path / "qa6_yes-no_test.txt", examples[1000:])
    accuracy = {}
    for null_slot in (True, False):
        name = f"null-{null_slot}"
        assert main(["memnet", "train", "-c", "babi_1k", f"data.path={tmp_path}",
                     "data.babi_task=6", f"output_dir={tmp_path}", f"name={name}",
                     f"model.null_slot={str(null_slot).lower()}", "model.linear_start=5",
                     "trainer.max_epochs=30", "trainer.progress_bar=false"]) == 0  # fmt: skip
        report = tmp_path / f"report-{name}"
        assert main(["memnet", "evaluate", "-m", str(tmp_path / name), "--report",
                     str(report)]) == 0  # fmt: skip
        accuracy[null_slot] = json.loads((report / "report.json").read_text())["accuracy"]
    assert accuracy[True] >= 80.0, accuracy  # chance is 50
    assert accuracy[True] - accuracy[False] >= 10.0, accuracy


def step_by_step(update, written, candidates):
    """The query-reduction recurrence as written: h_t = written_t c_t + (1 - update_t) h_t-1
    (scalar gates `[B, S]` or a gate per dimension `[B, S, D]`)."""
    if update.dim() == 2:
        update, written = update[..., None], written[..., None]
    state = torch.zeros_like(candidates[:, 0])
    states = []
    for t in range(update.size(1)):
        state = written[:, t] * candidates[:, t] + (1 - update[:, t]) * state
        states.append(state)
    return torch.stack(states, dim=1)


@pytest.mark.parametrize("gates", [(3, 7), (3, 7, 5)], ids=["per-sentence", "per-dimension"])
def test_the_closed_form_reduction_equals_the_recurrence_and_its_gradients(gates):
    torch.manual_seed(0)
    update = torch.rand(gates)
    update[0, 2], update[1, 4], update[2, 5:] = 1.0, 0.0, 0.0  # a full reset, no change, padding
    if len(gates) == 3:
        update[1, 3, 2] = 1.0  # one dimension reset, the others kept
    written = update * torch.rand(gates)
    candidates = torch.randn(3, 7, 5)
    torch.testing.assert_close(reduce_in_order(update, written, candidates),
                               step_by_step(update, written, candidates),
                               atol=1e-5, rtol=1e-5)  # fmt: skip
    update[update == 1.0] = 0.999  # gradients: away from the clamp at exactly 1
    inputs = [t.clone().requires_grad_() for t in (update, written, candidates)]
    looped = [t.clone().requires_grad_() for t in (update, written, candidates)]
    probe = torch.randn(3, 7, 5)
    (reduce_in_order(*inputs) * probe).sum().backward()
    (step_by_step(*looped) * probe).sum().backward()
    for closed_input, looped_input in zip(inputs, looped):
        torch.testing.assert_close(closed_input.grad, looped_input.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("vector_gates", [False, True])
def test_the_query_reduction_reader_ignores_padding_and_reads_in_order(vector_gates):
    torch.manual_seed(0)
    reader = QueryReductionReader(12, 4, 8, layers=3, vector_gates=vector_gates).eval()
    story = torch.randint(2, 12, (1, 4, 5))
    question = torch.randint(2, 12, (1, 3))
    alone = reader(story, torch.ones(1, 4, dtype=torch.bool), question)
    padded_story = torch.cat([story, torch.zeros(1, 2, 5, dtype=torch.long)], dim=1)
    padded_story = torch.cat([padded_story, torch.randint(2, 12, (1, 6, 5))])  # a longer story
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    padded = reader(padded_story, mask, question.expand(2, -1))
    torch.testing.assert_close(padded.logits[:1], alone.logits)
    assert padded.weights.shape == (2, 3, 6) and (padded.weights[0, :, 4:] == 0).all()
    swapped = story[:, [1, 0, 2, 3]]  # a bag of sentences would not tell these apart
    assert not torch.allclose(reader(swapped, alone.weights.new_ones(1, 4).bool(), question).logits,
                              alone.logits)  # fmt: skip


def test_the_query_reduction_recipe_learns_where_people_went_last(babi_folder, tmp_path, capsys):
    """The one-fact task needs the order of the story (a person's last move wins)."""
    assert main(["memnet", "train", "-c", "babi_1k_qr", f"data.path={babi_folder}",
                 "data.babi_task=1", f"output_dir={tmp_path}", "name=qr1",
                 "trainer.max_epochs=20", "trainer.progress_bar=false"]) == 0  # fmt: skip
    assert main(["memnet", "evaluate", "-m", str(tmp_path / "qr1"), "--report",
                 str(tmp_path / "r")]) == 0  # fmt: skip
    scores = json.loads((tmp_path / "r" / "report.json").read_text())
    assert scores["accuracy"] >= 90.0, scores["accuracy"]  # percent; chance is about 17
    report = (tmp_path / "r" / "report.md").read_text()
    assert "| layer 1 | layer 2 |" in report  # each layer's update gates per sentence


def test_memory_network_settings_given_to_the_query_reduction_reader_are_named(tmp_path, capsys):
    assert main(["memnet", "train", "-c", "babi_1k", "model.reader=query_reduction",
                 f"data.path={tmp_path}", "data.babi_task=1"]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert "model.tying=adjacent is a setting of the end-to-end memory network" in error


def test_the_query_reduction_readers_dropout_acts_in_training_only():
    torch.manual_seed(0)
    plain = QueryReductionReader(12, 4, 8, layers=2)
    dropped = QueryReductionReader(12, 4, 8, layers=2, dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    story, question = torch.randint(2, 12, (3, 4, 5)), torch.randint(2, 12, (3, 3))
    mask = torch.ones(3, 4, dtype=torch.bool)
    torch.testing.assert_close(dropped.eval()(story, mask, question).logits,
                               plain.eval()(story, mask, question).logits)  # fmt: skip
    assert not torch.allclose(dropped.train()(story, mask, question).logits,
                              plain.train()(story, mask, question).logits)  # fmt: skip


@pytest.mark.parametrize("setting", ["model.dropout=0.3", "model.vector_gates=True"])
def test_the_query_reduction_readers_settings_given_to_the_memory_network_are_named(
    setting, tmp_path, capsys
):
    assert main(["memnet", "train", "-c", "babi_1k", setting,
                 f"data.path={tmp_path}", "data.babi_task=1"]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert f"{setting} is a setting of the query-reduction reader" in error
    assert "the recipe babi_1k is set for this reader" in error

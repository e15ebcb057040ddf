"""Key-value memory: the lookup's contract, associative recall against an LSTM, the memory-network
reader on the generated story task, and decoder memory in the translator."""

import json
import re
from typing import NamedTuple

import pytest
import torch
from torch import nn

from nmt.cli import main
from nmt.memnet.synthetic import QUESTION_TYPES, make_stories
from nmt.models.memory import KeyValueMemory
from nmt.models.recurrent import build_rnn

# Associative recall, the classic test of a memory: a sequence of key -> value pairs, then one of
# the keys again; the answer is its value. Keys are distinct within an example.


class RecallBatch(NamedTuple):
    keys: torch.Tensor  # [N, P] key symbols 0..num_keys-1, distinct within a row
    values: torch.Tensor  # [N, P] value symbols 0..num_values-1
    query: torch.Tensor  # [N] one of the row's keys
    answer: torch.Tensor  # [N] its value


def make_recall(count: int, pairs: int, num_keys: int, num_values: int, seed: int) -> RecallBatch:
    if pairs > num_keys:
        raise ValueError(f"{pairs} distinct keys need num_keys >= {pairs}, got {num_keys}")
    generator = torch.Generator().manual_seed(seed)
    keys = torch.rand(count, num_keys, generator=generator).argsort(dim=1)[:, :pairs]
    values = torch.randint(num_values, (count, pairs), generator=generator)
    asked = torch.randint(pairs, (count,), generator=generator)
    rows = torch.arange(count)
    return RecallBatch(keys, values, keys[rows, asked], values[rows, asked])


def as_sequence(batch: RecallBatch, num_keys: int, num_values: int) -> torch.Tensor:
    """The same examples as one token sequence for a sequence model, `k1 v1 ... kP vP ? q`:
    values are shifted past the keys and "?" is symbol num_keys + num_values."""
    count = batch.keys.size(0)
    interleaved = torch.stack([batch.keys, batch.values + num_keys], dim=2).reshape(count, -1)
    separator = torch.full((count, 1), num_keys + num_values)
    return torch.cat([interleaved, separator, batch.query[:, None]], dim=1)


def test_a_query_equal_to_a_key_reads_that_keys_value_with_sharp_addressing():
    keys = torch.eye(6)[None] * 4.0  # [1, 6, 6] orthogonal keys
    values = torch.randn(1, 6, 3)
    memory = KeyValueMemory(6, 6, 3, project_query=False, temperature=0.01)
    for slot in range(6):
        read = memory(keys[:, slot], keys, values)
        torch.testing.assert_close(read.read, values[:, slot], atol=1e-5, rtol=0)
        assert read.weights.shape == (1, 1, 6) and read.weights[0, 0, slot] > 0.999


@pytest.mark.parametrize("addressing", ["dot", "additive"])
def test_masked_slots_get_zero_weight_and_do_not_change_the_read(addressing):
    torch.manual_seed(0)
    memory = KeyValueMemory(5, 4, 3, addressing=addressing, hops=2)
    keys, values = torch.randn(3, 6, 4), torch.randn(3, 6, 3)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]]).bool()
    query = torch.randn(3, 7, 5)  # 7 queries per example at once
    read = memory(query, keys, values, mask)
    assert read.weights.shape == (3, 7, 2, 6)
    assert torch.all(read.weights.masked_select(~mask[:, None, None, :]) == 0)
    torch.testing.assert_close(read.weights.sum(-1), torch.ones(3, 7, 2))
    junk = memory(query, keys.masked_fill(~mask[..., None], 1e3),
                  values.masked_fill(~mask[..., None], -1e3), mask)  # fmt: skip
    torch.testing.assert_close(junk.read, read.read)
    # Each of the 7 queries reads as if asked alone.
    alone = memory(query[:, 3], keys, values, mask)
    torch.testing.assert_close(alone.read, read.read[:, 3])
    torch.testing.assert_close(alone.weights, read.weights[:, 3])


def test_top_k_reads_only_the_best_slots_and_empty_memories_read_zero():
    torch.manual_seed(0)
    memory = KeyValueMemory(4, 4, 2, top_k=2, slots=10)
    read = memory(torch.randn(5, 4))  # learned slots shared by the batch
    assert read.read.shape == (5, 2)
    assert torch.all((read.weights > 0).sum(-1) == 2)
    nothing = KeyValueMemory(4, 4, 2)(
        torch.randn(2, 4), torch.randn(2, 3, 4), torch.randn(2, 3, 2), torch.zeros(2, 3).bool()
    )
    assert torch.all(nothing.read == 0) and not torch.isnan(nothing.output).any()


class MemoryRecall(nn.Module):
    """Pairs written into a key-value memory, read by the query key."""

    def __init__(self, num_keys: int, num_values: int, size: int) -> None:
        super().__init__()
        self.key_embedding = nn.Embedding(num_keys, size)
        self.value_embedding = nn.Embedding(num_values, size)
        self.memory = KeyValueMemory(size, size, size)
        self.out = nn.Linear(size, num_values)

    def forward(self, batch, num_keys, num_values):
        read = self.memory(self.key_embedding(batch.query), self.key_embedding(batch.keys),
                           self.value_embedding(batch.values))  # fmt: skip
        return self.out(read.read)


class LstmRecall(nn.Module):
    """The same task read as a token sequence by an LSTM of the same width."""

    def __init__(self, num_keys: int, num_values: int, size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_keys + num_values + 1, size)
        self.rnn = build_rnn("lstm", size, size)
        self.out = nn.Linear(size, num_values)

    def forward(self, batch, num_keys, num_values):
        outputs, _ = self.rnn(self.embedding(as_sequence(batch, num_keys, num_values)))
        return self.out(outputs[:, -1])


def recall_accuracy(model_class, steps=600, pairs=8, num_keys=16, num_values=16, size=32):
    torch.manual_seed(0)
    model = model_class(num_keys, num_values, size)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(steps):
        batch = make_recall(64, pairs, num_keys, num_values, seed=step)
        loss = nn.functional.cross_entropy(model(batch, num_keys, num_values), batch.answer)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = make_recall(2000, pairs, num_keys, num_values, seed=10**6)
    with torch.no_grad():
        predicted = model(test, num_keys, num_values).argmax(-1)
    return (predicted == test.answer).float().mean().item()


def test_memory_learns_associative_recall_where_an_lstm_of_the_same_size_does_not():
    with_memory = recall_accuracy(MemoryRecall)
    lstm = recall_accuracy(LstmRecall)
    assert with_memory >= 0.95, with_memory
    assert lstm <= with_memory - 0.3, (lstm, with_memory)


def test_generated_stories_answer_their_questions():
    examples = make_stories(400, seed=5)
    assert [e["type"] for e in examples[:4]] == list(QUESTION_TYPES)
    assert make_stories(50, seed=5) == examples[:50]  # the seed fixes everything
    for example in examples:
        story = example["story"]
        if example["type"] == "where_person":
            person = example["question"].split()[2]
            moves = [s for s in story if re.match(rf"{person} (went|moved|journeyed|travelled)", s)]
            assert moves[-1].split()[-2] == example["answer"]
            assert story[example["supporting"][0]] == moves[-1]
        if example["type"] == "carrying" and example["answer"] != "nothing":
            assert f"picked up the {example['answer']}" in story[example["supporting"][0]]
        for index in example["supporting"]:
            assert 0 <= index < len(story)


@pytest.fixture(scope="session")
def story_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stories")
    code = main([
        "memory", "train", "-c", "stories", f"output_dir={out}", "name=reader",
        "data.generate_sizes={train: 3000, validation: 300, test: 400}", "trainer.max_epochs=15",
        "trainer.progress_bar=false", "model.embedding_size=32", "trainer.log_every_n_steps=20",
    ])  # fmt: skip
    assert code == 0
    return out / "reader"


def test_memory_network_answers_single_supporting_fact_questions(story_run, tmp_path, capsys):
    assert main(["memory", "evaluate", "-m", str(story_run), "--report", str(tmp_path)]) == 0
    assert "where_person" in capsys.readouterr().out
    scores = json.loads((tmp_path / "report.json").read_text())
    assert scores["accuracy_by_type"]["where_person"] >= 95.0, scores["accuracy_by_type"]
    assert scores["questions"] == 400 and len(scores["examples"]) == 3
    example = scores["examples"][0]
    assert len(example["weights"]) == 3 and len(example["weights"][0]) == len(example["story"])
    assert "| hop 1 | hop 2 | hop 3 |" in (tmp_path / "report.md").read_text()


def test_a_reader_saved_before_memnet_was_a_task_answers_the_same(story_run, tmp_path, capsys):
    from .conftest import as_saved_before_task_packages

    old = as_saved_before_task_packages(story_run, tmp_path / "old")
    assert "task: memory" in (old / "config.yaml").read_text()
    questions = story_run / "data" / "test.jsonl"
    answers = []
    for run in (story_run, old):
        assert main(["memnet", "predict", "-m", str(run), "-i", str(questions), "--weights"]) == 0
        answers.append(capsys.readouterr().out.splitlines())
    assert len(answers[0]) == 400 and answers[1] == answers[0]


def test_bad_story_files_name_the_file_and_line(story_run, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"story": ["a b ."], "question": "q ?", "answer": "x"}\n{"story": []}\n')
    assert main(["memory", "evaluate", "-m", str(story_run), "--data", str(bad)]) == 2
    assert f"{bad}:2: " in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["memnet", "evaluate", "-m", str(story_run), "--data", str(empty)]) == 2
    assert f"{empty}: no questions to answer" in capsys.readouterr().err


def test_translator_with_decoder_memory_trains_saves_loads_and_translates_identically(
    reverse_task, tmp_path
):
    from nmt.search import SearchOptions
    from nmt.translation.predict import Translator
    from nmt.translation.run import train

    from .conftest import as_saved_before_task_packages, tiny_config

    config = tiny_config(reverse_task, tmp_path, "model.attention=luong",
                         "model.input_feeding=false", "model.memory.slots=16",
                         "trainer.max_epochs=2")  # fmt: skip
    run_dir = train(config)
    translator = Translator.load(run_dir)
    assert translator.model.decoder.slot_memory is not None
    sources = [line for line in (reverse_task / "test.src").read_text().split("\n") if line][:20]
    options = SearchOptions(beam_size=3)

    def outputs(translator):
        return [(h[0].text, h[0].score) for h in translator.translate_nbest(sources, options)]

    first = outputs(translator)
    assert any(text for text, _ in first)
    # The Lightning checkpoint of the same validation holds the same weights as model.pt.
    state = torch.load(run_dir / "lightning" / "best.ckpt", weights_only=True)["state_dict"]
    translator.model.load_state_dict({k[len("model.") :]: v for k, v in state.items()})
    assert outputs(translator) == first
    assert outputs(Translator.load(run_dir)) == first
    # A run directory written before the task packages ("model.memory") translates the same.
    old = as_saved_before_task_packages(run_dir, tmp_path / "old")
    assert "  memory:" in (old / "config.yaml").read_text()
    assert outputs(Translator.load(old)) == first

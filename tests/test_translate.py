"""`nmt translate` as users run it: files and pipes, n-best lists, odd lines, interactive use."""

import io
import queue
import subprocess
import sys
import threading

import pytest
import torch

from nmt.cli import main
from nmt.data.batching import length_batches
from nmt.translation.predict import MAX_INPUT_TOKENS, Translator


@pytest.fixture(scope="module")
def sources(reverse_task) -> list[str]:
    return (reverse_task / "test.src").read_text("utf-8").splitlines()[:30]


def test_one_output_line_per_input_line_in_order(reversal_run, sources, tmp_path, capsys):
    very_long = " ".join(["a b c d e f g h i j"] * 60)  # 600 symbols: cut, not a crash
    lines = [sources[0], "", very_long, sources[1], "   ", sources[2]] + sources[3:]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "out.txt"
    assert main(["translate", "-m", str(reversal_run), "-i", str(tmp_path / "in.txt"),
                 "-o", str(out), "--beam", "3"]) == 0  # fmt: skip
    translated = out.read_text("utf-8").split("\n")
    assert translated[-1] == "" and len(translated) == len(lines) + 1
    assert translated[1] == "" and translated[4] == ""
    assert translated[2] != ""
    assert f"translating its first {MAX_INPUT_TOKENS}" in capsys.readouterr().err
    one_by_one = Translator.load(reversal_run).translate([sources[1]])  # greedy, alone
    assert translated[3] == one_by_one[0]
    expected = [" ".join(reversed(s.split())) for s in sources]
    correct = [t == e for t, e in zip([translated[0], translated[3], translated[5]], expected)]
    assert sum(correct) >= 2


def stdin_of(text: str) -> io.TextIOWrapper:
    """A stand-in for standard input, with the byte stream (`.buffer`) the real one has."""
    return io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")


@pytest.mark.parametrize("interactive", [False, True])
def test_n_best_is_tsv_with_n_sorted_entries_per_line(
    reversal_run, sources, capsys, monkeypatch, interactive
):
    """n rows per input line, indexed by line (from 0), also for an empty line and when each
    line is translated as it is typed (where every index used to be 0)."""
    lines = [*sources[:2], "", *sources[2:5]]
    monkeypatch.setattr(sys, "stdin", stdin_of("\n".join(lines) + "\n"))
    args = ["translate", "-m", str(reversal_run), "--beam", "4", "--n-best", "3"]
    assert main(args + (["--interactive"] if interactive else [])) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [int(row[0]) for row in rows] == [index for index in range(6) for _ in range(3)]
    for index in range(6):
        mine = [row for row in rows if row[0] == str(index)]
        scores = [float(row[1]) for row in mine]
        assert len(mine) == 3 and scores == sorted(scores, reverse=True)
    assert [row[2] for row in rows if row[0] == "2"] == ["", "", ""]


def test_a_long_line_typed_interactively_is_named_by_its_number(
    reversal_run, capsys, monkeypatch
):
    long_line = " ".join(["a b c"] * 100)
    monkeypatch.setattr(sys, "stdin", stdin_of(f"a b\n{long_line}\n"))
    assert main(["translate", "-m", str(reversal_run), "--interactive", "--beam", "1"]) == 0
    captured = capsys.readouterr()
    assert "input line 2 has" in captured.err and "input line 1" not in captured.err
    assert len(captured.out.splitlines()) == 2


def test_big_inputs_are_translated_in_chunks_with_the_same_output(
    reversal_run, sources, tmp_path, capsys
):
    """--chunk-lines bounds how many lines are held at once; the output is line for line the
    same, in input order, whatever the chunk size."""
    text = tmp_path / "in.txt"
    text.write_text("\n".join([*sources[:9], "", *sources[9:15]]) + "\n")
    outputs = []
    for chunk in ("2", "10000"):
        out = tmp_path / f"out{chunk}.txt"
        args = ["translate", "predict", "-m", str(reversal_run), "-i", str(text), "-o", str(out)]
        assert main([*args, "--chunk-lines", chunk]) == 0
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1] and len(outputs[0].split("\n")) == 17
    expected = Translator.load(reversal_run).translate([*sources[:9], "", *sources[9:15]])
    assert outputs[0].split("\n")[:-1] == expected


def test_interactive_answers_each_line_before_the_next_arrives(reversal_run, sources):
    process = subprocess.Popen(
        [sys.executable, "-m", "nmt.cli", "translate", "-m", str(reversal_run), "--interactive"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        bufsize=1,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout])
    reader.daemon = True
    reader.start()
    try:
        answers = []
        for sentence in sources[:3]:
            process.stdin.write(sentence + "\n")
            process.stdin.flush()
            # The answer must come while stdin is still open (a minute at most, never forever).
            answers.append(lines.get(timeout=60).rstrip("\n"))
        process.stdin.close()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert answers == Translator.load(reversal_run).translate(sources[:3])


def test_a_failed_run_leaves_an_existing_output_file_alone(reversal_run, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"a b c\n\xff\xfe\n")
    out = tmp_path / "out.txt"
    out.write_text("yesterday's translations\n")
    assert main(["translate", "-m", str(reversal_run), "-i", str(bad), "-o", str(out)]) == 2
    assert f"{bad}:2: not valid UTF-8" in capsys.readouterr().err
    assert out.read_text() == "yesterday's translations\n"


def test_length_batches_respect_both_budgets_and_skip_empty_rows():
    ids = [[1] * n for n in [5, 0, 3, 9, 1, 7, 0, 2]]
    batches = list(length_batches(ids, batch_size=3, batch_tokens=14))
    assert sorted(i for batch in batches for i in batch) == [0, 2, 3, 4, 5, 7]
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) * max(len(ids[i]) for i in batch) <= 14 or len(batch) == 1


def test_separators_inside_a_line_do_not_split_it(reversal_run, capsys, monkeypatch):
    # A form feed and U+2028 are line breaks to str.splitlines, but not to a line-based file.
    monkeypatch.setattr(sys, "stdin", stdin_of("a b\x0cc\nd\u2028e f\n\n"))
    assert main(["translate", "-m", str(reversal_run), "--beam", "1"]) == 0
    assert capsys.readouterr().out.count("\n") == 3


def test_quantized_model_translates_as_well_as_the_float_one(reversal_run, reverse_task, tmp_path):
    """--quantize stores the linear and LSTM weights as int8 and keeps the quality."""
    sources = (reverse_task / "test.src").read_text("utf-8").splitlines()
    expected = [" ".join(reversed(s.split())) for s in sources]
    int8 = Translator.load(reversal_run, quantize=True)
    modules = list(int8.model.modules())
    assert not any(isinstance(m, (torch.nn.Linear, torch.nn.LSTM)) for m in modules)
    assert any(type(m) is torch.ao.nn.quantized.dynamic.Linear for m in modules)
    float_correct = sum(
        t == e for t, e in zip(Translator.load(reversal_run).translate(sources), expected)
    )
    int8_correct = sum(t == e for t, e in zip(int8.translate(sources), expected))
    assert float_correct >= 0.8 * len(sources)
    assert int8_correct >= float_correct - 0.05 * len(sources)
    out = tmp_path / "out.txt"
    src = reverse_task / "test.src"
    assert main(["translate", "-m", str(reversal_run), "-i", str(src), "-o", str(out),
                 "--quantize"]) == 0  # fmt: skip
    assert out.read_text("utf-8").splitlines() == int8.translate(sources)

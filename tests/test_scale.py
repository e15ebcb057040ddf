"""What keeps preparation flat as corpora grow: phases timed with their memory, the tokenizer
learned from a sample and kept for the next run on the same data, lengths as arrays."""

import json
import pickle
import shutil
import subprocess
import sys
import time

import datasets
import numpy as np
import pytest

from nmt.cli import main
from nmt.data.derived import derived_cache_dir, sample_rows
from nmt.engine.phases import PhaseLog, process_start_time, run_start_time
from nmt.translation.datamodule import TranslationDataModule

from .conftest import spelling_pairs, tiny_config, write_pairs

PHASES_SCRIPT = """
import sys, time
import numpy as np
from nmt.engine.phases import PhaseLog
phases = PhaseLog(interval=0.01)
with phases.phase("big"):
    block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
    time.sleep(0.1)
    del block
for _ in range(2):
    with phases.phase("small"):
        time.sleep(0.05)
phases.mark("done")
phases.write(__import__("pathlib").Path(sys.argv[1]))
"""


def test_phases_add_up_and_each_sees_its_own_memory_peak(tmp_path):
    # a fresh process: this one may hold freed memory that a new block would reuse unseen
    path = tmp_path / "phases.json"
    subprocess.run([sys.executable, "-c", PHASES_SCRIPT, str(path)], check=True, timeout=120)
    saved = json.loads(path.read_text())
    big, small = saved["phases"]["big"], saved["phases"]["small"]
    assert big["peak_rss_mib"] >= small["peak_rss_mib"] + 250
    assert big["seconds"] >= 0.1 and small["seconds"] >= 0.1 and small["times"] == 2
    assert small["first_at"] >= big["first_at"]
    assert "done" in saved["events"] and saved["peak_rss_mib"] >= big["peak_rss_mib"]


def test_a_phase_log_copied_to_a_spawned_process_keeps_its_record_and_times_on():
    """A DDP process started by spawn gets a pickled copy of the data module's PhaseLog, taken
    while a phase is open: the copy has the closed phases, no open one, and a lock of its own."""
    phases = PhaseLog(interval=0.01)
    with phases.phase("corpus"):
        pass
    phases.mark("first_step")
    phases.enter("training")
    copy = pickle.loads(pickle.dumps(phases))
    phases.leave()
    assert copy.current is None and set(copy.phases) == {"corpus"}
    assert copy.events == {"first_step": phases.events["first_step"]}
    assert copy._lock is not phases._lock
    with copy.phase("training"):
        pass
    assert copy.phases["training"]["times"] == 1 and phases.phases["training"]["times"] == 1


def test_a_training_run_writes_where_its_time_and_memory_went(reversal_run):
    saved = json.loads((reversal_run / "logs" / "phases.json").read_text())
    phases = saved["phases"]
    assert {"corpus", "tokenizer", "encoding", "training", "validation"} <= set(phases)
    assert phases["validation"]["times"] >= 2  # validated along the way, not only once
    preparation = sum(phases[name]["seconds"] for name in ("corpus", "tokenizer", "encoding"))
    assert saved["events"]["first_step"] >= preparation
    assert phases["training"]["first_at"] >= phases["encoding"]["first_at"]
    assert all(record["peak_rss_mib"] > 0 for record in phases.values())


def test_a_later_command_in_the_same_process_is_timed_from_its_own_beginning(tmp_path, capsys):
    """A benchmark script that trains several runs in one process: the third run's "first
    training step after N s" must not count the first two. Every `nmt` command marks its start."""
    text = tmp_path / "hyp.txt"
    text.write_text("a small test\n")
    scoring = ["translate", "evaluate", "--hyp", str(text), "--ref", str(text)]
    assert main(scoring) == 0
    time.sleep(0.05)
    began = time.time()
    assert main(scoring) == 0
    assert began <= run_start_time() <= time.time()
    assert began <= PhaseLog().started_at <= time.time()
    assert process_start_time() < began - 0.05
    capsys.readouterr()


def _datamodule(data_dir, tokenizer_dir, *overrides):
    config = tiny_config(data_dir, tokenizer_dir.parent, *overrides)
    datamodule = TranslationDataModule(config.data, config.tokenizer, tokenizer_dir)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def test_a_second_run_on_the_same_data_reuses_tokenizer_and_encoding(tmp_path, nmt_log):
    pairs = spelling_pairs(400, seed=11)
    write_pairs(tmp_path / "data", "train", pairs[:350])
    write_pairs(tmp_path / "data", "validation", pairs[350:])
    first = _datamodule(tmp_path / "data", tmp_path / "one" / "tokenizer")
    assert "training sentencepiece" in nmt_log.text
    nmt_log.clear()
    second = _datamodule(tmp_path / "data", tmp_path / "two" / "tokenizer")
    assert "training sentencepiece" not in nmt_log.text
    assert "trained on this corpus with these settings before" in nmt_log.text
    model_file = "spm.model"
    assert ((tmp_path / "two" / "tokenizer" / model_file).read_bytes()
            == (tmp_path / "one" / "tokenizer" / model_file).read_bytes())  # fmt: skip
    for split in ("train", "validation"):
        assert second.encoded[split].cache_files == first.encoded[split].cache_files
        # lengths are arrays: max(source ids, target ids + BOS/EOS) per example
        encoded = first.encoded[split]
        expected = [max(len(s), len(t) + 1) for s, t in zip(encoded["src_ids"], encoded["tgt_ids"])]
        assert isinstance(first.lengths[split], np.ndarray)
        assert first.lengths[split].tolist() == expected
    # other settings, or other data, train a tokenizer of their own
    nmt_log.clear()
    _datamodule(tmp_path / "data", tmp_path / "three" / "tokenizer", "tokenizer.vocab_size=50")
    assert "training sentencepiece" in nmt_log.text
    shutil.copytree(tmp_path / "data", tmp_path / "more")
    write_pairs(tmp_path / "more", "train", pairs[:340])
    nmt_log.clear()
    _datamodule(tmp_path / "more", tmp_path / "four" / "tokenizer")
    assert "training sentencepiece" in nmt_log.text


def test_the_tokenizer_learns_from_a_sample_of_a_big_corpus(tmp_path, nmt_log):
    pairs = spelling_pairs(600, seed=12)
    write_pairs(tmp_path / "data", "train", pairs[:550])
    write_pairs(tmp_path / "data", "validation", pairs[550:])
    datamodule = _datamodule(tmp_path / "data", tmp_path / "run" / "tokenizer",
                             "tokenizer.train_pairs=200")  # fmt: skip
    assert "on 200 of 550 pairs" in nmt_log.text
    assert datamodule.encoded["train"].num_rows == 550
    sample = sample_rows(datasets.Dataset.from_dict({"row": list(range(550))}), 200, seed=0)
    rows = sample["row"]
    assert len(set(rows)) == 200 and rows == sorted(rows)


def test_nothing_is_kept_for_a_dataset_that_lives_in_memory():
    in_memory = datasets.Dataset.from_dict({"src": ["a"], "tgt": ["b"]})
    assert derived_cache_dir(in_memory, "tokenizer", {"vocab_size": 8}) is None


def test_memory_freed_by_preparation_goes_back_to_the_system():
    """What the training loop calls after preparation: freed heap memory in the middle of the
    heap (which malloc keeps) is returned."""
    import platform

    from nmt.engine.allocator import release_freed_memory
    from nmt.engine.phases import resident_mib

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc_trim is glibc's")
    blocks = [np.ones(100_000 // 8) for _ in range(3000)]  # 300 MB of heap blocks, touched
    pin = np.ones(100_000 // 8)  # after them, so the heap's top stays in use
    held = resident_mib()
    del blocks
    assert release_freed_memory()
    assert resident_mib() < held - 200
    del pin

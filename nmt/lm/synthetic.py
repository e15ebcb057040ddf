"""Generated text for tests and demos: a few lines repeated in a fixed order, which a language
model can learn to reproduce exactly (at temperature 0 it must write them back)."""

from __future__ import annotations

from pathlib import Path

PATTERN = ("the cat sat on the mat .", "a dog ran to the park !", "we sing songs at night .")


def write_pattern_text(out_dir: str | Path, repeats: dict[str, int]) -> dict[str, Path]:
    """SPLIT.txt with the PATTERN lines repeated `repeats[split]` times."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, count in repeats.items():
        path = out_dir / f"{split}.txt"
        path.write_text("".join(f"{line}\n" for _ in range(count) for line in PATTERN))
        paths[split] = path
    return paths

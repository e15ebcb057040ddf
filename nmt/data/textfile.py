"""Sentence-per-line text as users hand it to `translate` and `evaluate`.

Lines are split on "\\n" only: `str.splitlines` would also split on form feeds, U+2028 and other
separators inside a sentence, and break the one-output-line-per-input-line promise.
"""

from __future__ import annotations

from pathlib import Path

from nmt.errors import NmtError


def split_lines(text: str) -> list[str]:
    """Lines of text; the newline ending the last line adds none, a trailing "\\r" is dropped."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_lines(path: str | Path) -> list[str]:
    """A UTF-8 file's lines (see split_lines); empty lines are kept, each stands for a sentence."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise NmtError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return split_lines(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise NmtError(f"{path}:{line}: not valid UTF-8") from None

"""Line-based text files as users hand them to `translate`, `evaluate` and the corpus readers.

Lines are split on "\\n" only: `str.splitlines` would also split on form feeds, U+2028 and other
separators inside a sentence, and break the one-output-line-per-input-line promise.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
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


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str, str]]:
    """(1-based number, text, line ending) of each line, read as bytes so that an error names
    the line: invalid UTF-8 and unreadable files raise NmtError. A leading BOM is dropped."""
    path = Path(path)
    try:
        file = path.open("rb")
    except OSError as error:
        raise NmtError(f"{path}: cannot read ({error.strerror})") from None
    with file:
        for number, raw in enumerate(file, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            body = raw.removesuffix(b"\n").removesuffix(b"\r")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as error:
                message = f"{path}:{number}: invalid UTF-8 ({error.reason} at byte {error.start})"
                raise NmtError(message) from None
            yield number, text, raw[len(body) :].decode("ascii")

"""Line-based text files as users hand them to `translate`, `evaluate` and the corpus readers.

Lines are split on "\\n" only: `str.splitlines` would also split on form feeds, U+2028 and other
separators inside a sentence, and break the one-output-line-per-input-line promise.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nmt.errors import NmtError


def read_lines(path: str | Path) -> list[str]:
    """A UTF-8 file's lines (see numbered_lines); empty lines are kept, each stands for a
    sentence."""
    return [text for _, text, _ in numbered_lines(path)]


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str, str]]:
    """(1-based number, text, line ending) of each line, read as bytes so that an error names
    the line: invalid UTF-8 and unreadable files raise NmtError. A leading BOM is dropped."""
    path = Path(path)
    try:
        file = path.open("rb")
    except OSError as error:
        raise NmtError(f"{path}: cannot read ({error.strerror})") from None
    with file:
        yield from numbered_stream_lines(file, str(path))


def numbered_stream_lines(stream: BinaryIO, name: str) -> Iterator[tuple[int, str, str]]:
    """numbered_lines of an open binary stream (standard input: sys.stdin.buffer), read as it
    comes; errors name the stream as `name`."""
    for number, raw in enumerate(stream, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        body = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            message = f"{name}:{number}: not valid UTF-8 ({error.reason} at byte {error.start})"
            raise NmtError(message) from None
        yield number, text, raw[len(body) :].decode("ascii")


def read_stdin_lines() -> list[str]:
    """All lines of standard input (errors name "standard input" and the line)."""
    return [text for _, text, _ in numbered_stream_lines(sys.stdin.buffer, STDIN)]


def count_lines(path: str | Path) -> int:
    """How many lines a file has (a last line without a newline counts), without decoding it."""
    count, last = 0, b"\n"
    with Path(path).open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


STDIN = "standard input"

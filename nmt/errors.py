"""The one exception type for problems the user can fix (bad input, bad config).

The CLI prints its message without a traceback; everything else is a bug and keeps its traceback.
"""


class NmtError(Exception):
    """A user-facing error: the message names the file, line or key at fault."""

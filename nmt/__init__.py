"""nmt: recurrent sequence-to-sequence learning (translation, tagging, key-value memory)."""

__version__ = "0.1.0"

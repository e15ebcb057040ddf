"""Sequence tagging (POS, NER): one label per input token, trained and served like translation."""

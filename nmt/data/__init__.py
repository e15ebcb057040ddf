"""Data pieces every task shares: special ids, text files, length-bucketed batching, splits."""

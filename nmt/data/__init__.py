"""Data pipeline: corpora, tokenization, batching, synthetic tasks."""

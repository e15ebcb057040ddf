"""Sequence classification (many to one): a recurrent encoder reads a text and one label comes
out: sentiment, topic, intent, genre."""

"""Special symbols, at the same ids in every vocabulary nmt builds (sentencepiece models, tagger
and memory-network word lists), so batching, padding masks and search can rely on them."""

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"

"""Translation (sequence to sequence): recurrent encoder-decoders with and without attention,
trained from parallel text through sentencepiece; beam search, BLEU/chrF/TER reports."""

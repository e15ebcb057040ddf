#!/usr/bin/env bash
# Download Universal Dependencies English EWT (CoNLL-U, CC BY-SA 4.0) for POS tagging.
# Usage: data_scripts/ud_english_ewt.sh [OUT_DIR=data/ud_english_ewt]
# Writes OUT_DIR/en_ewt-ud-{train,dev,test}.conllu, the layout `nmt tag train -c ud_en_ewt_pos`
# reads.
set -euo pipefail
OUT=${1:-data/ud_english_ewt}
BASE=https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/master
mkdir -p "$OUT"
for split in train dev test; do
  file=en_ewt-ud-$split.conllu
  if [[ ! -s "$OUT/$file" ]]; then
    curl -fsSL "$BASE/$file" > "$OUT/$file.tmp"
    mv "$OUT/$file.tmp" "$OUT/$file"
  fi
done
grep -c '^# sent_id' "$OUT"/*.conllu

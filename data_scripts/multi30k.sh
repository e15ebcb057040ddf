#!/usr/bin/env bash
# Download Multi30k task 1 (En/De/Fr image captions; WMT16 train/val/test2016 split) as raw text.
# Usage: data_scripts/multi30k.sh [OUT_DIR=data/multi30k]
# Writes OUT_DIR/{train,val,test2016}.{en,de,fr}, the layout `nmt translate train -c multi30k_en_de_attention`
# reads. The data is for non-commercial research and education (see the upstream README).
set -euo pipefail
OUT=${1:-data/multi30k}
BASE=https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw
mkdir -p "$OUT"
for split in train val test_2016_flickr; do
  name=$split; [[ $split == test_2016_flickr ]] && name=test2016
  for lang in en de fr; do
    if [[ ! -s "$OUT/$name.$lang" ]]; then
      curl -fsSL "$BASE/$split.$lang.gz" | gunzip -c > "$OUT/$name.$lang.tmp"
      mv "$OUT/$name.$lang.tmp" "$OUT/$name.$lang"
    fi
  done
done
wc -l "$OUT"/*.en

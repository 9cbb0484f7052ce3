#!/usr/bin/env bash
# Fine-tuning on a domain the base has not seen (docs/results.md, the section of that name).
# Usage: bash scripts/finetune_study.sh [DATA_ROOT]   (DATA_ROOT defaults to ../shared/data)
# Twice: a histology base without blood smears, then blood smears; a base without H&E, then H&E. On the new
# domain's held-out test split: the base alone, from scratch and fine-tuned on 3, 12 and all training images.
# Checkpoints, logs and metrics go to runs/finetune/ (not shipped); the figures to docs/figures/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-../shared/data}
OUT=runs/finetune
mkdir -p "$OUT"
timed() {  # name, train args...: train, log, and record the wall time
  local name=$1; shift
  local start; start=$(date +%s)
  python -m colorcore train --out "$OUT/$name.safetensors" --name "$name" "$@" 2>&1 | tee "$OUT/$name.log"
  echo "$name $(( $(date +%s) - start ))" >> "$OUT/wall_times.txt"
}
SHAPE=(--size 192 --crop 64 --seed 0 --domain histology)
SLIDES='^(he_monuseg/TCGA-[^_]+)_'  # MoNuSeg tiles of one slide never straddle splits
study() {  # domain, base, regex of the domain's files, split args...
  local domain=$1 base=$2 include=$3; shift 3
  local split=(--data "$ROOT/micrographs" --include "$include" "$@" "${SHAPE[@]}")
  for n in 3 12; do  # from scratch (the 12-image recipe of the study grid: 100 epochs) and fine-tuned (defaults)
    timed "$domain-scratch$n" "${split[@]}" --train-images $n --epochs 100 --loss huber --val-every 5
    timed "$domain-finetune$n" "${split[@]}" --train-images $n --init-from "$OUT/$base.safetensors"
  done
  timed "$domain-finetune-all" "${split[@]}" --init-from "$OUT/$base.safetensors"
  timed "$domain-scratch-all" "${split[@]}" --epochs 60 --loss huber --val-every 2
  for run in scratch3 finetune3 scratch12 finetune12 finetune-all scratch-all; do
    python -m colorcore evaluate --data "$ROOT/micrographs" --split test --checkpoint "$OUT/$domain-$run.safetensors" \
      --store --json "$OUT/$domain-$run.test.json"
  done
  # The base and gray on the same test split (read from the first checkpoint; the base's own test metrics stay).
  python -m colorcore evaluate --data "$ROOT/micrographs" --split test --checkpoint "$OUT/$domain-finetune12.safetensors" \
    --checkpoint "$OUT/$base.safetensors" --checkpoint gray --json "$OUT/$domain-base-gray.test.json"
  PYTHONPATH=. python scripts/finetune_figure.py "$ROOT/micrographs" "$OUT" "$domain" "$base"
}

# Blood smears. The base: histology-huber's recipe without them (H&E tiles split by slide, IHC).
timed histology-noblood --data "$ROOT/micrographs" --include '^(he_|ihc_)' --group-pattern "$SLIDES" \
  --test-images 80 --val-images 80 --epochs 60 --batch 32 --loss huber --val-every 2 "${SHAPE[@]}" \
  --description "H&E tissue and IHC (no blood smears), split by slide, Huber: base of the fine-tuning study"
# How to fine-tune (on blood smears' validation split only): learning rate, warm-up, frozen encoder.
PYTHONPATH=. python scripts/finetune_sweep.py "$OUT/histology-noblood.safetensors" "$ROOT/micrographs" \
  "$OUT/sweep" --include '^blood_' | tee "$OUT/sweep.md"
study blood histology-noblood '^blood_' --test-images 50 --val-images 30

# H&E tissue (test split: whole slides). The base: blood smears and IHC.
timed histology-nohe --data "$ROOT/micrographs" --include '^(blood_|ihc_)' --test-images 30 --val-images 30 \
  --epochs 60 --batch 32 --loss huber --val-every 2 "${SHAPE[@]}" \
  --description "blood smears and IHC (no H&E), Huber: base of the fine-tuning study"
study he histology-nohe '^he_' --group-pattern "$SLIDES" --test-images 80 --val-images 48

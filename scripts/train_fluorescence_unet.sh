#!/usr/bin/env bash
# Issue 16, item 3: the recommended fluorescence recipe (fluorescence-fields: native scale, whole fields shown
# 16x an epoch, split by field of view, Huber) on the U-Net, written outside the catalog and compared with
# fluorescence-fields on its test split; it ships only if it beats it (ab RMSE and hue accuracy).
# Usage: bash scripts/train_fluorescence_unet.sh [DATA_ROOT]   (default ../shared/data)
# Wall time on 2 CPU cores: see docs/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-../shared/data}
mkdir -p runs/ablations
start=$SECONDS
python -m colorcore train --data "$ROOT/fluorescence" \
  --group-pattern '^bbbc021_singlecell_crops/(.+)_[0-9]+\.png$' --test-images 150 --val-images 150 --seed 0 \
  --epochs 40 --size 512 --scale native --crop 64 --batch 32 --val-every 2 --domain fluorescence \
  --model unet_resnet18 --loss huber --oversample '^(?!bbbc021_singlecell_crops/)' --oversample-factor 16 \
  --out runs/ablations/fluorescence-unet.safetensors --name fluorescence-unet \
  --description "fluorescence composites at native scale, whole fields shown 16x an epoch, split by field of view, U-Net Huber" \
  2>&1 | tee runs/fluorescence-unet.log
echo "fluorescence-unet: $(( SECONDS - start )) s wall" | tee -a runs/fluorescence-unet.log
python -m colorcore evaluate --data "$ROOT/fluorescence" --split test --checkpoint runs/ablations/fluorescence-unet.safetensors \
  --checkpoint fluorescence-fields --checkpoint gray --json runs/fluorescence-unet.test.json

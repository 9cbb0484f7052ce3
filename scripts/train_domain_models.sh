#!/usr/bin/env bash
# Micrograph-domain checkpoints (issue: beyond the study). Usage: bash scripts/train_domain_models.sh [DATA_ROOT]
# DATA_ROOT defaults to ../shared/data. Logs go to runs/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-../shared/data}
mkdir -p runs/ablations checkpoints
# Histology: H&E (MoNuSeg tiles split by slide: the TCGA-... prefix), blood smears, IHC; fluorescence excluded.
python -m colorcore train --data "$ROOT/micrographs" --include '^(he_|blood_|ihc_)' \
  --group-pattern '^(he_monuseg/TCGA-[^_]+)_' --test-images 80 --val-images 80 --seed 0 \
  --epochs 60 --size 192 --crop 64 --batch 32 --loss huber --val-every 2 --domain histology \
  --out checkpoints/histology-huber.safetensors --name histology-huber \
  --description "H&E tissue, blood smears and IHC (micrographs), split by slide, Huber" 2>&1 | tee runs/histology-huber.log
python -m colorcore evaluate --data "$ROOT/micrographs" --split test --checkpoint histology-huber --store \
  --json runs/histology-huber.test.json
python -m colorcore evaluate --data "$ROOT/micrographs" --split test --checkpoint histology-huber \
  --checkpoint places500-huber --checkpoint gray --json runs/histology-split.test.json
# Fluorescence: composites (DNA blue, main marker green, third marker red); BBBC021 single-cell crops are
# grouped by their source field of view (file name without the trailing _<n>.png), so no FOV straddles splits.
fluorescence() {  # name, description, extra training args...
  local name=$1 description=$2; shift 2
  python -m colorcore train --data "$ROOT/fluorescence" \
    --group-pattern '^bbbc021_singlecell_crops/(.+)_[0-9]+\.png$' --test-images 150 --val-images 150 --seed 0 \
    --epochs 40 --size 64 --batch 32 --val-every 2 --domain fluorescence \
    --out "checkpoints/$name.safetensors" --name "$name" --description "$description" "$@" 2>&1 | tee "runs/$name.log"
  python -m colorcore evaluate --data "$ROOT/fluorescence" --split test --checkpoint "$name" --store \
    --json "runs/$name.test.json"
}
fluorescence fluorescence-huber \
  "fluorescence composites (DNA blue, marker green, third marker red), split by field of view, Huber" --loss huber
# The classification model on the same split (its annealed mean keeps hues apart where regression averages them).
fluorescence fluorescence-vivid \
  "fluorescence composites, split by field of view, a*b* classification with class rebalancing" \
  --model study_resnet18_classes
# At the scale inference sees (each image keeps its scale, long side at most 512 px, 64-px random crops), with
# the ~30 whole fields shown 16 times an epoch among the 1440 single-cell crops; the recommended one.
fluorescence fluorescence-fields \
  "fluorescence composites at native scale, whole fields shown 16x an epoch, split by field of view, Huber" \
  --loss huber --size 512 --scale native --crop 64 --oversample '^(?!bbbc021_singlecell_crops/)' --oversample-factor 16
python -m colorcore checkpoints --recommend fluorescence-fields
# Ablation (not shipped): native scale without the oversampling, written outside the catalog.
python -m colorcore train --data "$ROOT/fluorescence" \
  --group-pattern '^bbbc021_singlecell_crops/(.+)_[0-9]+\.png$' --test-images 150 --val-images 150 --seed 0 \
  --epochs 40 --size 512 --scale native --crop 64 --batch 32 --val-every 2 --domain fluorescence --loss huber \
  --out runs/ablations/fluorescence-native.safetensors --name fluorescence-native 2>&1 | tee runs/fluorescence-native.log
python -m colorcore evaluate --data "$ROOT/fluorescence" --split test --checkpoint fluorescence-huber \
  --checkpoint fluorescence-vivid --checkpoint fluorescence-fields --checkpoint places500-huber --checkpoint gray --json runs/fluorescence-split.test.json

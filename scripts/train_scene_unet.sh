#!/usr/bin/env bash
# Issue 16: scene checkpoints on the U-Net, and what the architecture and more data each buy.
# Every run uses the study grid's split of ../shared/data/places (seed 0, 250 test, 250 validation:
# the common test of every scene model); --more-data adds the 15,000 places_more photos to the
# training images only (4,500 + 15,000 = 19,500).
#   places19500-unet-vivid  U-Net, a*b* classification with class rebalancing, 19,500 images
#   places19500-unet-huber  U-Net, Huber regression, 19,500 images (the faithful end)
#   places19500-vivid       the study network's classifier, 19,500 images (the architecture's share)
#   places4500-unet-vivid   U-Net classifier, the 4,500 images alone, as many steps (the data's share)
#   places19500-unet-soft   U-Net classifier, 19,500 images, weaker rebalancing (lambda 0.8)
# Usage: bash scripts/train_scene_unet.sh [PLACES] [PLACES_MORE]
# Environment: PYTHON (default python), EPOCHS (of the 19,500-image runs, default 30), OUT (default
#   checkpoints), LOGS (default runs), THREADS (torch threads per run), PARALLEL=1 (all five at once: one GPU holds them).
# Wall time: see docs/results.md (one H200, the five at once); on 2 CPU cores each run is about
#   EPOCHS x 19,500 / 25 images/s.
set -euo pipefail
cd "$(dirname "$0")/.."
PLACES=${1:-../shared/data/places}
MORE=${2:-../shared/data/places_more}
EPOCHS=${EPOCHS:-30}
OUT=${OUT:-checkpoints}
LOGS=${LOGS:-runs}
E4500=$(( EPOCHS * 19500 / 4500 ))           # as many optimisation steps as a 19,500-image run
mkdir -p "$OUT" "$LOGS"
COMMON=(--data "$PLACES" --val-images 250 --test-images 250 --seed 0 --size 128 --crop 64 --batch 64
        --domain scenes ${THREADS:+--threads "$THREADS"})

run() {  # name, extra args...
  local name=$1; shift
  if [ -f "$OUT/$name.safetensors" ] && [ ! -f "$OUT/$name.safetensors.state.pt" ]; then
    echo "$name exists; skipped"; return
  fi
  local resume=() start=$SECONDS
  [ -f "$OUT/$name.safetensors.state.pt" ] && resume=(--resume)
  "${PYTHON:-python}" -m colorcore train "${COMMON[@]}" --out "$OUT/$name.safetensors" --name "$name" "$@" "${resume[@]}" \
    > "$LOGS/$name.log" 2>&1
  echo "$name: $(( SECONDS - start )) s wall" | tee -a "$LOGS/$name.log"
}

each() {  # run in the background (PARALLEL=1) or in turn
  if [ "${PARALLEL:-0}" = 1 ]; then run "$@" & else run "$@"; fi
}

VIVID=(--model unet_resnet18_classes)
each places19500-unet-vivid "${VIVID[@]}" --more-data "$MORE" --epochs "$EPOCHS" --val-every 2 \
  --description "Places2 scenes, 19,500 images (4,500 + 15,000 more), U-Net a*b* classification with class rebalancing"
each places19500-unet-huber --model unet_resnet18 --loss huber --more-data "$MORE" --epochs "$EPOCHS" --val-every 2 \
  --description "Places2 scenes, 19,500 images (4,500 + 15,000 more), U-Net Huber regression"
each places19500-vivid --model study_resnet18_classes --more-data "$MORE" --epochs "$EPOCHS" --val-every 2 \
  --description "Places2 scenes, 19,500 images (4,500 + 15,000 more), the study network's a*b* classification"
each places4500-unet-vivid "${VIVID[@]}" --epochs "$E4500" --val-every $(( E4500 / 15 + 1 )) \
  --description "Places2 scenes, the 4,500 training images, U-Net a*b* classification with class rebalancing"
each places19500-unet-soft "${VIVID[@]}" --rebalance 0.8 --more-data "$MORE" --epochs "$EPOCHS" --val-every 2 \
  --description "Places2 scenes, 19,500 images, U-Net a*b* classification with weaker rebalancing (lambda 0.8)"
wait

#!/usr/bin/env bash
# Issue 16: scene checkpoints on the U-Net, and what the architecture, the rebalancing, more data and
# longer training each buy. Every run uses the study grid's split of ../shared/data/places (seed 0,
# 250 test, 250 validation: the common test of every scene model); --more-data adds half of the
# places_more photos (every other file of each category in name order: 75 of each of the 100
# categories, 7,500) to the training images only: 4,500 + 7,500 = 12,000.
#   places12000-unet-soft    U-Net, a*b* classification, rebalancing lambda 0.8 (inside the blend)
#   places12000-unet-huber   U-Net, Huber regression (shipped: the most faithful)
#   places12000-unet-blend   the two above joined by colorcore blend (shipped: vivid and faithful)
#   places4500-unet-soft     as the first on the 4,500 images alone, as many steps (the data's share)
#   places12000-unet-soft-2x as the first, twice the epochs (longer training's share)
# Usage: bash scripts/train_scene_unet.sh [PLACES] [PLACES_MORE]
# Environment: PYTHON (default python), EPOCHS (of the 12,000-image runs, default 34), OUT (default
#   checkpoints), LOGS (default runs), THREADS (torch threads per run), PARALLEL=1 (all at once:
#   one GPU holds them), HALF (the half folder, default runs/places_more_half: symbolic links made
#   here unless it exists).
# Wall time: one H200, the four at once: see docs/results.md; on 2 CPU cores a run takes about
#   EPOCHS x 12,000 images at best at the 85-110 images/s of benchmarks/architectures.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PLACES=${1:-../shared/data/places}
MORE=${2:-../shared/data/places_more}
HALF=${HALF:-runs/places_more_half}
EPOCHS=${EPOCHS:-34}
OUT=${OUT:-checkpoints}
LOGS=${LOGS:-runs}
E4500=$(( EPOCHS * 12000 / 4500 ))           # as many optimisation steps as a 12,000-image run
mkdir -p "$OUT" "$LOGS"
if [ ! -d "$HALF" ]; then
  mkdir -p "$HALF"
  find "$MORE" -maxdepth 1 -iname '*.jpg' -printf '%f\n' | LC_ALL=C sort | awk 'NR % 2 == 1' \
    | while read -r f; do ln -s "$(realpath "$MORE/$f")" "$HALF/$f"; done
fi
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

SOFT=(--model unet_resnet18_classes --rebalance 0.8)
each places12000-unet-soft "${SOFT[@]}" --more-data "$HALF" --epochs "$EPOCHS" --val-every 2 \
  --description "Places2 scenes, 12,000 images (4,500 + 7,500 more), U-Net a*b* classification, mild rebalancing: vivid and faithful"
each places12000-unet-huber --model unet_resnet18 --loss huber --more-data "$HALF" --epochs "$EPOCHS" --val-every 2 \
  --description "Places2 scenes, 12,000 images (4,500 + 7,500 more), U-Net Huber regression: the most faithful"
each places4500-unet-soft "${SOFT[@]}" --epochs "$E4500" --val-every $(( E4500 / 15 + 1 )) \
  --description "Places2 scenes, the 4,500 training images, U-Net a*b* classification, mild rebalancing"
each places12000-unet-soft-2x "${SOFT[@]}" --more-data "$HALF" --epochs $(( 2 * EPOCHS )) --val-every 4 \
  --description "Places2 scenes, 12,000 images, U-Net a*b* classification, mild rebalancing, twice the epochs"
wait
# The shipped scene model: the vivid and the faithful U-Net joined, weight and temperature chosen on the
# validation split (about 1.5 minutes on 2 CPU cores), then both evaluated on the test split and stored.
if [ ! -f "$OUT/places12000-unet-blend.safetensors" ]; then
  "${PYTHON:-python}" -m colorcore blend --vivid "$OUT/places12000-unet-soft.safetensors" \
    --faithful "$OUT/places12000-unet-huber.safetensors" --data "$PLACES" --out "$OUT/places12000-unet-blend.safetensors" \
    --description "Places2 scenes, 12,000 images: U-Net classification and Huber regression blended (weight and temperature chosen on validation): vivid and faithful"
fi
for name in places12000-unet-soft places12000-unet-huber places4500-unet-soft places12000-unet-soft-2x places12000-unet-blend; do
  "${PYTHON:-python}" -m colorcore evaluate --data "$PLACES" --split test --checkpoint "$OUT/$name.safetensors" --store
done

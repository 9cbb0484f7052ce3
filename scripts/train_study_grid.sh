#!/usr/bin/env bash
# Reproduce the study grid (issue: places12/500 x mse/huber + study500-mse) and evaluate it.
# Usage: bash scripts/train_study_grid.sh [DATA_DIR]   (default ../shared/data/places)
# Wall time on a 2-core AVX2 CPU: about 85 minutes. Logs go to runs/<name>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/places}
OUT=checkpoints
mkdir -p runs "$OUT"
# One split for all runs: seed 0, 250 test, 250 validation, nested training subsets.
COMMON=(--data "$DATA" --val-images 250 --test-images 250 --seed 0 --epochs 100 --size 128 --crop 64
        --batch 32 --domain scenes)

run() {  # name, extra args...
  local name=$1; shift
  if [ -f "$OUT/$name.safetensors" ] && [ ! -f "$OUT/$name.safetensors.state.pt" ]; then
    echo "$name exists; skipped"; return
  fi
  local resume=()
  [ -f "$OUT/$name.safetensors.state.pt" ] && resume=(--resume)
  /usr/bin/time -f "$name: %e s wall" python -m colorcore train "${COMMON[@]}" --out "$OUT/$name.safetensors" \
    --name "$name" "$@" "${resume[@]}" 2>&1 | tee "runs/$name.log"
}

run places12-mse    --train-images 12  --loss mse   --val-every 5 --description "Places2 scenes, 12 images, MSE (corrected pipeline)"
run places12-huber  --train-images 12  --loss huber --val-every 5 --description "Places2 scenes, 12 images, Huber (corrected pipeline)"
run places500-huber --train-images 500 --loss huber --val-every 2 --description "Places2 scenes, 500 images, Huber (corrected pipeline)"
run places500-mse   --train-images 500 --loss mse   --val-every 2 --description "Places2 scenes, 500 images, MSE (corrected pipeline)"
run study500-mse    --train-images 500 --recipe study --val-every 2 --description "the study's own recipe: rgb2gray input, (ab+128)/255 targets, Adam 1e-2, MSE"

# Beyond the study, on the same split. More data: all 4500 training images for 20 epochs (2820 steps; the
# 500-image runs take 1600), so the comparison is of data, not of a 9x larger compute budget.
run places4500-huber --epochs 20 --loss huber --val-every 1 --description "Places2 scenes, all 4500 training images, Huber (corrected pipeline)"
# Vivid colours: the classification formulation (Zhang et al. 2016) on the same 500 images.
run places500-vivid --train-images 500 --model study_resnet18_classes --val-every 2 --description "Places2 scenes, 500 images, a*b* classification with class rebalancing (vivid colours)"

for name in places12-mse places12-huber places500-mse places500-huber study500-mse places4500-huber places500-vivid; do
  python -m colorcore evaluate --data "$DATA" --split test --checkpoint "$name" --store --json "runs/$name.test.json"
done
python -m colorcore evaluate --data "$DATA" --split test --checkpoint places500-huber --checkpoint gray --json runs/gray.test.json

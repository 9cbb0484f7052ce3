#!/usr/bin/env bash
# Out-of-domain check (issue 17) of every shipped checkpoint, fitted from the training and validation files
# each records (weights unchanged), then the benchmark of docs/results.md.
# Usage: bash scripts/fit_domain_checks.sh [DATA_ROOT]   (DATA_ROOT defaults to ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-../shared/data}
mkdir -p runs
for path in checkpoints/*.safetensors; do
  python -m colorcore checkpoints --fit-domain "$(basename "$path" .safetensors)" --data-root "$ROOT" > /dev/null
done
PYTHONPATH=. python benchmarks/domain_check.py --data-root "$ROOT" --json runs/domain_check.json | tee runs/domain_check.md

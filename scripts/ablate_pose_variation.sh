#!/usr/bin/env bash
# Pose-variation ablation: trains every config/training/ablation/<variant>.yaml at equal budget
# and scores it on the held-out CMU subjects 5 and 7 (cells cameras, 2 per clip, clean and
# noisy 2D); the table goes to results/training/ablation/table.txt.
#   bash scripts/ablate_pose_variation.sh [variant ...]   (default: all five, ~1 h on 2 cores)
# Needs the shared mocap (../shared/mocap or $LIFTPOSE_MOCAP_DIR). Runs go to runs/ablation/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
L=.venv/bin/liftpose
OUT=results/training/ablation
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=(base angles mix offsets all)
mkdir -p "$OUT"
for v in "${VARIANTS[@]}"; do
  $L train --config "config/training/ablation/$v.yaml" --out "runs/ablation/$v" --threads 2 \
    2>&1 | grep -v '^epoch .*it/s' | tee "$OUT/$v-train.log"
  for input in clean noisy; do
    flag=(); [ "$input" = noisy ] && flag=(--noisy)
    $L evaluate --checkpoint "runs/ablation/$v/best.pt" --dataset cmu-test --rig cells \
      --cameras 2 "${flag[@]}" --out "$OUT/$v-$input" > "$OUT/$v-$input.txt"
  done
done
.venv/bin/python scripts/ablation_table.py --root "$OUT" --runs base angles mix offsets all \
  --title "Pose-variation ablation: causal T=27 compact lifter, 4 x 125 x 128 windows each, CMU 5+7, cells cameras (2 per clip)" \
  | tee "$OUT/table.txt"

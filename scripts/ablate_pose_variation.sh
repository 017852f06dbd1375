#!/usr/bin/env bash
# Pose-variation ablation: trains every config/training/ablation/<variant>.yaml at equal budget
# and scores it on the held-out CMU subjects 5 and 7 (cells cameras, 2 per clip, clean and
# noisy 2D) and, when scripts/fetch_registry_motion.sh has run, on the unseen CMU take 01_03
# (climb, hang, swing); the table goes to results/training/ablation/table.txt.
#   bash scripts/ablate_pose_variation.sh [variant ...]   (default: all six, ~90 min on 2 cores)
# Needs the shared mocap (../shared/mocap or $LIFTPOSE_MOCAP_DIR). Runs go to runs/ablation/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
L=.venv/bin/liftpose
OUT=results/training/ablation
ALL=(base angles mix legs offsets all)
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=("${ALL[@]}")
mkdir -p "$OUT"
for v in "${VARIANTS[@]}"; do
  $L train --config "config/training/ablation/$v.yaml" --out "runs/ablation/$v" --threads 2 \
    2>&1 | tr '\r' '\n' | grep -av '^epoch [0-9]*: ' | tee "$OUT/$v-train.log"
  bash scripts/score_lifter.sh "runs/ablation/$v/best.pt" "$OUT/$v" cells 2
done
.venv/bin/python scripts/ablation_table.py --root "$OUT" --runs "${ALL[@]}" \
  --title "Pose-variation ablation: causal T=27 compact lifter, 4 x 125 x 128 windows each, CMU 5+7, cells cameras (2 per clip)" \
  | tee "$OUT/table.txt"

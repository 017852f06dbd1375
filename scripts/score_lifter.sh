#!/usr/bin/env bash
# Score one lifter checkpoint the way every lifter table in README does: the held-out CMU
# subjects 5 and 7 through the fixed test cameras of one rig, clean and noisy 2D, and (when
# scripts/fetch_registry_motion.sh has run) CMU take 01_03 from Debian through 2 cameras of the
# same rig. Writes PREFIX-clean, PREFIX-noisy, PREFIX-unseen (evaluate --out folders) and their
# printed tables as PREFIX-<input>.txt; scripts/ablation_table.py reads them side by side.
#   bash scripts/score_lifter.sh CHECKPOINT PREFIX [RIG [CAMERAS]]   (default: cells 4)
# Needs the shared mocap (../shared/mocap or $LIFTPOSE_MOCAP_DIR); ~3 min on 2 cores at 4 cameras.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
L=.venv/bin/liftpose
UNSEEN=build/registry_motion/cmu_registry.npz
[ $# -ge 2 ] && [ $# -le 4 ] || { echo "usage: $0 CHECKPOINT PREFIX [RIG [CAMERAS]]" >&2; exit 2; }
CKPT=$1 PREFIX=$2 RIG=${3:-cells} CAMERAS=${4:-4}
[ -f "$CKPT" ] || { echo "$CKPT: no such checkpoint" >&2; exit 2; }
mkdir -p "$(dirname "$PREFIX")"
for input in clean noisy; do
  flag=(); [ "$input" = noisy ] && flag=(--noisy)
  $L evaluate --checkpoint "$CKPT" --dataset cmu-test --rig "$RIG" --cameras "$CAMERAS" \
    "${flag[@]}" --out "$PREFIX-$input" > "$PREFIX-$input.txt"
done
if [ -f "$UNSEEN" ]; then
  $L evaluate --checkpoint "$CKPT" --dataset npz --npz "$UNSEEN" --fps 120 --rig "$RIG" \
    --cameras 2 --out "$PREFIX-unseen" > "$PREFIX-unseen.txt"
fi

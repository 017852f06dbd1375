#!/usr/bin/env bash
# Source-share comparison: scores causal lifters trained by config/training/causal_t27.yaml with
# different `data.source_shares` on the held-out CMU subjects 5 and 7 (cells cameras, 4 per
# clip, clean and noisy 2D), on the CMU take 01_03 from Debian (when
# scripts/fetch_registry_motion.sh has run) and prints the table (results/training/source_shares).
#   bash scripts/compare_source_shares.sh NAME=CHECKPOINT [NAME=CHECKPOINT ...]
# e.g. cmu2=first.pt cmu25=runs/cmu25/best.pt cmu50=runs/cmu50/best.pt (README "Source shares").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=results/training/source_shares
[ $# -gt 0 ] || { echo "usage: $0 NAME=CHECKPOINT ..." >&2; exit 2; }
mkdir -p "$OUT"
NAMES=()
for pair in "$@"; do
  name=${pair%%=*}; ckpt=${pair#*=}
  [ -f "$ckpt" ] || { echo "$ckpt: no such checkpoint" >&2; exit 2; }
  NAMES+=("$name")
  bash scripts/score_lifter.sh "$ckpt" "$OUT/$name" cells 4
done
.venv/bin/python scripts/ablation_table.py --root "$OUT" --runs "${NAMES[@]}" \
  --title "Source shares: causal T=27 compact lifter, 12 x 125 x 128 windows each, CMU 5+7, cells cameras (4 per clip)" \
  | tee "$OUT/table.txt"

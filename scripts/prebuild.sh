#!/bin/sh
# Builds the prebuilt addon binaries that ship inside the npm package:
#
#   sh scripts/prebuild.sh [ARCH...]     (npm run prebuilds; ARCH: x64 arm64, default both)
#
# writes prebuilds/linux-<arch>/netplumb.node, where node-gyp-build finds them at install
# and load time. The host's compiler builds the host's architecture; any other one is
# cross-compiled with <triplet>-g++ (Debian: g++-aarch64-linux-gnu, g++-x86-64-linux-gnu).
# Node's headers are the same for every architecture, so the installed ones serve all.
# Each architecture builds in its own directory under build-prebuild/ (the development
# build in build/ is untouched), kept between runs so only what changed is recompiled.
# Runs at `npm pack` time (prepack; postpack removes prebuilds/ again): binaries always
# match the sources they ship with, are never committed, and never linger in a checkout
# where the install script would take them for a fitting build.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GYP="$ROOT/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$GYP" ] || { echo "prebuild: node-gyp is missing: run npm install first" >&2; exit 1; }
HOST_ARCH=$(node -p process.arch)
JOBS=$(nproc 2>/dev/null || echo 2)
# The headers of the running node (a distribution's node ships them under its prefix);
# without them node-gyp would download them.
NODEDIR=${npm_config_nodedir:-$(node -p "require('path').resolve(process.execPath, '../..')")}
[ -f "$NODEDIR/include/node/common.gypi" ] || NODEDIR=

[ "$#" -gt 0 ] || set -- x64 arm64
for arch in "$@"; do
  case "$arch" in
    x64) triplet=x86_64-linux-gnu; machine=x86-64 ;;
    arm64) triplet=aarch64-linux-gnu; machine=aarch64 ;;
    *) echo "prebuild: unknown architecture '$arch' (x64 or arm64)" >&2; exit 2 ;;
  esac
  out="prebuilds/linux-$arch/netplumb.node"
  if [ "$arch" = "$HOST_ARCH" ]; then
    prefix=
  else
    prefix="$triplet-"
    command -v "${prefix}g++" >/dev/null || { echo "prebuild: ${prefix}g++ not found (apt-get install g++-$(echo "$triplet" | tr _ -))" >&2; exit 1; }
  fi

  # A private copy of the project's shape: the sources by symlink, its own build/, kept
  # between runs so make rebuilds only what changed.
  stage="$ROOT/build-prebuild/$arch"
  if [ ! -f "$stage/build/Makefile" ] || [ binding.gyp -nt "$stage/build/Makefile" ]; then
    rm -rf "$stage"
    mkdir -p "$stage"
    for f in binding.gyp native node_modules package.json; do ln -s "$ROOT/$f" "$stage/$f"; done
    CC="${prefix}gcc" CXX="${prefix}g++" LINK="${prefix}g++" AR="${prefix}ar" \
      node "$GYP" configure --arch="$arch" ${NODEDIR:+--nodedir="$NODEDIR"} --directory="$stage" --loglevel=warn
  fi
  echo "prebuild: linux-$arch with ${prefix}g++"
  CC="${prefix}gcc" CXX="${prefix}g++" LINK="${prefix}g++" AR="${prefix}ar" \
    node "$GYP" build --directory="$stage" --jobs="$JOBS" --loglevel=warn

  built="$stage/build/Release/netplumb.node"
  # Debug symbols are not needed to load it; a stripped binary is about half the size.
  "${prefix}strip" --strip-unneeded -o "$built.stripped" "$built"
  # The ELF header must say the architecture we asked for (a wrong CXX would build the host's).
  file_machine=$(od -An -tu2 -j18 -N2 "$built.stripped" | tr -d ' ')
  case "$machine:$file_machine" in
    x86-64:62 | aarch64:183) ;;
    *) echo "prebuild: $built is ELF machine $file_machine, not $machine" >&2; exit 1 ;;
  esac
  mkdir -p "$(dirname "$out")"
  mv "$built.stripped" "$out"
  echo "prebuild: wrote $out ($(wc -c <"$out") bytes)"
done

#!/bin/sh
# Builds the sandbox supervisor for linux-x64 and linux-arm64 from src/, into bin/<platform>/.
# The binaries are committed, so `npm ci` needs no compiler; a test rebuilds them and compares
# when the same toolchain is present (see toolchain.txt, written here).
#   native/build.sh            build both (needs gcc and aarch64-linux-gnu-gcc)
#   native/build.sh x64        build one
set -eu
cd "$(dirname "$0")"
out="${SANDPORT_NATIVE_OUT:-bin}"
flags="-std=gnu11 -O2 -static -s -Wall -Wextra -Werror -fno-ident -ffile-prefix-map=$(pwd)=. -Wl,--build-id=none"
sources="src/supervisor.c src/channel.c src/sandbox-config.c src/sandbox-setup.c src/process-table.c src/file-operations.c src/directory-operations.c src/sandbox-paths.c src/port-connections.c src/byte-queue.c src/seccomp-filter.c"

build() {
  platform="$1"
  compiler="$2"
  mkdir -p "$out/$platform"
  # shellcheck disable=SC2086
  "$compiler" $flags -o "$out/$platform/sandport-supervisor" $sources
}

for platform in ${1:-x64 arm64}; do
  case "$platform" in
    x64) build linux-x64 "${CC_X64:-x86_64-linux-gnu-gcc}" ;;
    arm64) build linux-arm64 "${CC_ARM64:-aarch64-linux-gnu-gcc}" ;;
    *) echo "unknown platform: $platform (x64 or arm64)" >&2; exit 2 ;;
  esac
done
if [ "$out" = bin ]; then
  { x86_64-linux-gnu-gcc --version | head -n 1; aarch64-linux-gnu-gcc --version | head -n 1; } > toolchain.txt 2>/dev/null || true
fi

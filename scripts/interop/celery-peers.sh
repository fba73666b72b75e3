#!/usr/bin/env bash
# Fetches Python Celery 5.5 (Debian trixie) and 5.6 (Debian sid) without PyPI and unpacks them into a
# cache that bookworm's /usr/bin/python3 runs with PYTHONPATH=<cache>/celery-<v>/usr/lib/python3/dist-packages.
# Also OpenTelemetry's Python API and SDK (sid) into <cache>/otel, added to PYTHONPATH by the tracing
# interop test (the peer that records spans; sid has no opentelemetry-instrumentation-celery).
#
#   scripts/interop/celery-peers.sh            fetch what is missing (idempotent: a complete cache is reused)
#   scripts/interop/celery-peers.sh --force    refetch all
#   scripts/interop/celery-peers.sh --print    print the PYTHONPATH of each peer (and of otel)
#
# How: `apt-get download` with a private sources list that repeats this machine's Debian mirror with the
# suite changed (private lists/cache dirs, nothing touches the host's apt state), then `dpkg -x`.
# Cache: ${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}/celery-5.5, …/celery-5.6, …/otel (…/apt holds apt's state).
set -euo pipefail

CACHE="${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}"
PYTHON="${TEST_PYTHON:-/usr/bin/python3}"
FORCE=0
PRINT=0
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --print) PRINT=1 ;;
    *) echo "usage: $0 [--force] [--print]" >&2; exit 2 ;;
  esac
done

# version:suite pairs, and the packages each needs on bookworm's Python (3.11): Celery and its pure-Python
# dependencies. Bookworm's own packages (msgpack, yaml, …) stay on sys.path behind these.
PEERS=("5.5:trixie" "5.6:sid")
PACKAGES=(
  python3-celery python3-kombu python3-billiard python3-vine python3-amqp
  python3-click python3-click-didyoumean python3-click-repl python3-click-plugins
  python3-dateutil python3-tzlocal python3-tz python3-redis python3-packaging python3-prompt-toolkit
  python3-wcwidth
)
# OpenTelemetry for the tracing peer: the API, the SDK (its in-memory exporter), the semantic conventions
# the SDK imports, and typing-extensions (bookworm's is older than the API needs). jsonschema and yaml, the
# conventions package's other Debian dependencies, are only used by its code generators.
OTEL_SUITE=sid
OTEL_PACKAGES=(python3-opentelemetry-api python3-opentelemetry-sdk python3-opentelemetry-semantic-conventions python3-typing-extensions)

# The machine's Debian mirror (first URIs line of its deb822 sources), deb.debian.org otherwise.
mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

site_dir() { echo "$CACHE/celery-$1/usr/lib/python3/dist-packages"; }

check() { # version → prints "celery X kombu Y redis Z" or fails
  PYTHONPATH="$(site_dir "$1")" "$PYTHON" -c 'import celery, kombu, redis; print("celery", celery.__version__, "kombu", kombu.__version__, "redis", redis.__version__)'
}

otel_dir() { echo "$CACHE/otel/usr/lib/python3/dist-packages"; }

check_otel() { # prints "opentelemetry-sdk X" or fails
  PYTHONPATH="$(otel_dir)" "$PYTHON" -c 'from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter; from opentelemetry.sdk.version import __version__ as v; print("opentelemetry-sdk", v)'
}

if [ "$PRINT" = 1 ]; then
  for p in "${PEERS[@]}"; do echo "${p%%:*} $(site_dir "${p%%:*}")"; done
  echo "otel $(otel_dir)"
  exit 0
fi

fetch() { # name suite package… → unpacked into $CACHE/<name>
  local name="$1" suite="$2"
  shift 2
  local dest="$CACHE/$name" apt="$CACHE/apt/$suite" version="$name"
  local opts=(
    -o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=$apt/status"
    -o "Acquire::Check-Valid-Until=false" -o "APT::Sandbox::User=root" -o "Debug::NoLocking=true"
  )
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  : >"$apt/status" # an empty dpkg status: the host's installed versions must not pick the candidates
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(mirror) $suite main" >"$apt/sources.list"
  echo "$version: apt-get update ($suite from $(mirror))"
  apt-get -qq "${opts[@]}" update
  rm -f "$apt/debs"/*.deb
  local want=() p
  for p in "$@"; do # a package the suite dropped (5.6 no longer uses click-plugins) is skipped
    if apt-cache "${opts[@]}" show "$p" >/dev/null 2>&1; then want+=("$p"); else echo "$version: $p is not in $suite, skipped"; fi
  done
  echo "$version: apt-get download ${want[*]}"
  (cd "$apt/debs" && apt-get -qq "${opts[@]}" download "${want[@]}")
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  for deb in "$apt/debs"/*.deb; do
    echo "$version: dpkg -x $(basename "$deb")"
    dpkg -x "$deb" "$dest.tmp"
  done
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  (cd "$apt/debs" && ls *.deb) >"$dest/.packages"
}

for p in "${PEERS[@]}"; do
  version="${p%%:*}" suite="${p#*:}"
  if [ "$FORCE" = 0 ] && [ -f "$CACHE/celery-$version/.packages" ] && check "$version" >/dev/null 2>&1; then
    echo "celery-$version: reusing $CACHE/celery-$version ($(check "$version"))"
    continue
  fi
  fetch "celery-$version" "$suite" "${PACKAGES[@]}"
  echo "celery-$version: ready in $CACHE/celery-$version ($(check "$version"))"
done

if [ "$FORCE" = 0 ] && [ -f "$CACHE/otel/.packages" ] && check_otel >/dev/null 2>&1; then
  echo "otel: reusing $CACHE/otel ($(check_otel))"
else
  fetch otel "$OTEL_SUITE" "${OTEL_PACKAGES[@]}"
  echo "otel: ready in $CACHE/otel ($(check_otel))"
fi

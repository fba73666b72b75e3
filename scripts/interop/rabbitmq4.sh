#!/usr/bin/env bash
# A RabbitMQ 4.x node for the interop matrix, beside the machine's RabbitMQ 3.x: its Erlang conflicts
# with the installed one, so it runs from a debootstrap'd Debian root (chroot, /proc mounted) as its own
# node with its own ports, data and logs, and with EVERY deprecated feature denied (the RabbitMQ 4.3
# default for some, and what the issue asks for all).
#
#   scripts/interop/rabbitmq4.sh start     build the root once (cached), start the node, wait for AMQP
#   scripts/interop/rabbitmq4.sh stop      stop the node and its epmd, unmount /proc
#   scripts/interop/rabbitmq4.sh status    print whether it is up, its version and denied features
#   scripts/interop/rabbitmq4.sh ctl ARGS  rabbitmqctl against the node (e.g. `ctl list_queues`)
#
# Node: rabbit4@localhost, AMQP 127.0.0.1:5682 (guest/guest, loopback only), distribution 25682,
# ERL_EPMD_PORT 4370. Override with RABBITMQ4_PORT / RABBITMQ4_NODENAME / RABBITMQ4_SUITE (sid: 4.3.x,
# trixie: 4.0.x). RABBITMQ4_PERMIT=a,b permits only the named deprecated features and denies every
# other one: the node for Python peers that predate Celery's RabbitMQ 4.3 fix (Debian's Celery 5.5.2
# has no control_queue_exclusive; every Celery's RPC backend declares a transient non-exclusive reply
# queue), permitting only what they need. RABBITMQ4_PERMIT_ALL=1 leaves every one at the broker's default.
#   RABBITMQ4_PORT=5683 RABBITMQ4_PERMIT=transient_nonexcl_queues scripts/interop/rabbitmq4.sh start
# A cluster's nodes share one Erlang cookie and one epmd: RABBITMQ4_COOKIE=<secret> writes the cookie
# before the node starts, RABBITMQ4_EPMD_PORT names the shared epmd (test/support/rabbitmq-cluster.ts).
# Cache: ${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}/rabbitmq4-root (~400 MB).
set -euo pipefail

CACHE="${NESTJS_CELERY_CACHE:-/var/cache/nestjs-celery}"
SUITE="${RABBITMQ4_SUITE:-sid}"
ROOT="${RABBITMQ4_ROOT:-$CACHE/rabbitmq4-root}"
PORT="${RABBITMQ4_PORT:-5682}"
DIST_PORT=$((PORT + 20000))
EPMD_PORT="${RABBITMQ4_EPMD_PORT:-$((PORT - 1312))}" # 5682 → 4370
NODENAME="${RABBITMQ4_NODENAME:-rabbit4$([ "$PORT" = 5682 ] || echo "-$PORT")@localhost}"
BASE="/var/lib/rabbit4-$PORT" # inside the root: data, logs, config, cookie
PERMIT_ALL="${RABBITMQ4_PERMIT_ALL:-0}" # 1: leave deprecated features at the broker's defaults
PERMIT="${RABBITMQ4_PERMIT:-}" # comma-separated deprecated features this node permits; every other one is denied
COOKIE="${RABBITMQ4_COOKIE:-}" # the Erlang cookie a cluster's nodes share (default: the node's own)

mirror() {
  local m=""
  [ -f /etc/apt/sources.list.d/debian.sources ] &&
    m=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  echo "${m:-http://deb.debian.org/debian}"
}

log() { echo "rabbitmq4: $*"; }

mount_proc() {
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  # epmd and the node resolve "localhost" through the root's /etc/hosts
  cp /etc/hosts "$ROOT/etc/hosts"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}

in_root() { # run a command inside the root with the node's environment
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$BASE" LANG=C.UTF-8 \
    RABBITMQ_NODENAME="$NODENAME" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$PORT" \
    RABBITMQ_DIST_PORT="$DIST_PORT" ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$BASE/mnesia" RABBITMQ_LOG_BASE="$BASE/log" \
    RABBITMQ_CONFIG_FILE="$BASE/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins" \
    RABBITMQ_PID_FILE="$BASE/rabbit.pid" RABBITMQ_ENABLED_PLUGINS= "$@"
}

ctl() { in_root /usr/lib/rabbitmq/bin/rabbitmqctl -n "$NODENAME" "$@"; }
diag() { in_root /usr/lib/rabbitmq/bin/rabbitmq-diagnostics -n "$NODENAME" "$@"; }

build() {
  [ -f "$ROOT/.complete" ] && return 0
  command -v debootstrap >/dev/null || { echo "rabbitmq4: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  local t0=$SECONDS
  log "building a minimal Debian $SUITE root in $ROOT (once; cached)"
  umount "$ROOT/proc" 2>/dev/null || true
  rm -rf "$ROOT" && mkdir -p "$(dirname "$ROOT")"
  debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$SUITE" "$ROOT" "$(mirror)" >"$CACHE/rabbitmq4-debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/rabbitmq4-debootstrap.log" >&2; exit 1; }
  mount_proc
  # no service may start inside the root while packages are installed
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d" && chmod +x "$ROOT/usr/sbin/policy-rc.d"
  # a mirror may serve a sid/trixie Release past its Valid-Until (seen: 29 days): its packages are still the ones we want
  log "installing rabbitmq-server inside the root"
  chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get -qq -o Acquire::Check-Valid-Until=false update && apt-get install -y -qq --no-install-recommends rabbitmq-server && apt-get clean' \
    >>"$CACHE/rabbitmq4-debootstrap.log" 2>&1 ||
    { echo "rabbitmq4: installing rabbitmq-server failed" >&2; umount "$ROOT/proc"; exit 1; }
  umount "$ROOT/proc"
  touch "$ROOT/.complete"
  log "root built in $((SECONDS - t0)) s: $(chroot "$ROOT" dpkg-query -W -f '${Version}' rabbitmq-server)"
}

amqp_up() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
node_up() { amqp_up && ctl -q status >/dev/null 2>&1; }

write_config() { # $1: extra lines
  mkdir -p "$ROOT$BASE/mnesia" "$ROOT$BASE/log"
  {
    echo "# written by scripts/interop/rabbitmq4.sh"
    echo "listeners.tcp.default = 127.0.0.1:$PORT"
    echo "loopback_users.guest = true"
    echo "log.file.level = info"
    echo "log.console = false"
    echo "max_message_size = 268435456" # the 100 MiB interop cases (4.x's default is 16 MiB)
    printf '%s\n' "$1"
  } >"$ROOT$BASE/rabbitmq.conf"
  echo "[]." >"$ROOT$BASE/enabled_plugins"
  if [ -n "$COOKIE" ]; then
    rm -f "$ROOT$BASE/.erlang.cookie"
    printf '%s' "$COOKIE" >"$ROOT$BASE/.erlang.cookie" && chmod 400 "$ROOT$BASE/.erlang.cookie"
  fi
}

boot() {
  mount_proc
  log "starting $NODENAME (AMQP $PORT, dist $DIST_PORT, epmd $EPMD_PORT)"
  in_root sh -c "cd $BASE && nohup /usr/lib/rabbitmq/bin/rabbitmq-server >$BASE/log/stdout.log 2>&1 &"
  local i
  for i in $(seq 1 240); do
    node_up && return 0
    sleep 0.5
  done
  echo "rabbitmq4: $NODENAME did not accept AMQP on $PORT within 120 s; see $ROOT$BASE/log" >&2
  tail -30 "$ROOT$BASE/log/stdout.log" >&2 || true
  exit 1
}

halt() {
  if ctl -q status >/dev/null 2>&1; then ctl -q stop >/dev/null 2>&1 || true; fi
  in_root /usr/bin/epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || true
}

# Every deprecated feature this RabbitMQ version knows, one name a line (asked from a running node).
deprecated_features() {
  diag -q list_deprecated_features --formatter json 2>/dev/null |
    /usr/bin/python3 -c 'import json, sys; [print(f["name"]) for f in json.load(sys.stdin)]'
}

start() {
  if amqp_up; then
    log "$NODENAME is already up on $PORT"
    return 0
  fi
  build
  local deny="$ROOT$BASE/deprecated-features"
  if [ "$PERMIT_ALL" != 1 ] && [ ! -s "$deny" ]; then
    # first start: learn the version's deprecated features from a node with the default config
    write_config ""
    boot
    deprecated_features >"$deny.tmp" && mv "$deny.tmp" "$deny"
    halt
    [ -s "$deny" ] || { echo "rabbitmq4: could not list deprecated features" >&2; exit 1; }
  fi
  if [ "$PERMIT_ALL" = 1 ]; then
    write_config "# every deprecated feature left at the broker's default (permissive node)"
  else
    local feature unknown=""
    for feature in ${PERMIT//,/ }; do grep -qx "$feature" "$deny" || unknown="$unknown $feature"; done
    [ -z "$unknown" ] || { echo "rabbitmq4: RABBITMQ4_PERMIT names no deprecated feature of this version:$unknown" >&2; exit 1; }
    # each listed feature permitted explicitly, every other one denied
    write_config "$(while read -r feature; do
      case ",$PERMIT," in *",$feature,"*) echo "deprecated_features.permit.$feature = true" ;; *) echo "deprecated_features.permit.$feature = false" ;; esac
    done <"$deny")"
  fi
  boot
  log "$NODENAME up: RabbitMQ $(ctl -q eval 'rabbit_misc:version().' 2>/dev/null | tr -d '"'), amqp://guest:guest@127.0.0.1:$PORT//"
}

stop() {
  if [ -d "$ROOT/usr" ]; then
    halt
    # /proc stays mounted while another node (e.g. the permissive one on 5683) runs from the root
    local other=0 p
    for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && other=1 && break; done
    [ "$other" = 0 ] && mountpoint -q "$ROOT/proc" && umount "$ROOT/proc"
  fi
  log "$NODENAME stopped"
}

status() {
  if amqp_up && node_up; then
    log "$NODENAME up on 127.0.0.1:$PORT, RabbitMQ $(ctl -q eval 'rabbit_misc:version().' | tr -d '"')"
    grep -h '^deprecated_features' "$ROOT$BASE/rabbitmq.conf" | sed 's/^/  /' || echo "  (permissive: no deprecated feature denied)"
  else
    log "$NODENAME is not running (start it with $0 start)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  build) build ;;
  ctl) shift; mount_proc; ctl "$@" ;;
  *) echo "usage: $0 start|stop|status|build|ctl ARGS" >&2; exit 2 ;;
esac

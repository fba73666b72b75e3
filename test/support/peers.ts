/**
 * The interop matrix's peers: Python Celery 5.2 (Debian bookworm, installed), 5.5 (trixie) and 5.6 (sid)
 * unpacked by scripts/interop/celery-peers.sh, and the RabbitMQ 4.x nodes of scripts/interop/rabbitmq4.sh.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Debian's interpreter, where python3-celery lives (not the pyenv python3 on PATH). */
export const PYTHON = process.env.TEST_PYTHON ?? '/usr/bin/python3';
/** Where scripts/interop/*.sh keep what they fetch and build. */
export const PEERS_CACHE = process.env.NESTJS_CELERY_CACHE ?? '/var/cache/nestjs-celery';
/** RabbitMQ 4.x with every deprecated feature denied (`scripts/interop/rabbitmq4.sh start`). */
export const AMQP4_URL = process.env.TEST_AMQP4_URL ?? 'amqp://guest:guest@127.0.0.1:5682//';
/**
 * The same RabbitMQ 4.x permitting only what Python peers that predate Celery's RabbitMQ 4.3 fix need,
 * transient non-exclusive queues (their pidbox and RPC reply queues); every other deprecated feature,
 * global QoS included, is denied
 * (`RABBITMQ4_PORT=5683 RABBITMQ4_PERMIT=transient_nonexcl_queues scripts/interop/rabbitmq4.sh start`).
 */
export const AMQP4_PERMISSIVE_URL = process.env.TEST_AMQP4_PERMISSIVE_URL ?? 'amqp://guest:guest@127.0.0.1:5683//';

export type CeleryVersion = '5.2' | '5.5' | '5.6';

export interface CeleryPeer {
  version: CeleryVersion;
  /** Folders to put on PYTHONPATH (after the test's own folder) so PYTHON imports this Celery. */
  pythonPath: string[];
  /** Extra environment this peer runs with (the Celery settings it has for RabbitMQ 4.3). */
  env: Record<string, string>;
  /**
   * Whether this peer runs on a RabbitMQ 4.x node that denies every deprecated feature: Celery 5.6 does
   * with control/event_queue_exclusive, except with the RPC backend (its reply queue is transient and
   * non-exclusive in every Debian-packaged Celery); 5.2 and 5.5 have no exclusive settings.
   */
  runsOnDenyAll(backend: string): boolean;
  /** Whether PYTHON imports this Celery (and redis) here. */
  available(): boolean;
}

function sitePackages(version: CeleryVersion): string[] {
  return version === '5.2' ? [] : [join(PEERS_CACHE, `celery-${version}`, 'usr', 'lib', 'python3', 'dist-packages')];
}

const availability = new Map<CeleryVersion, boolean>();

function peer(version: CeleryVersion, env: Record<string, string>, denyAll: (backend: string) => boolean): CeleryPeer {
  const pythonPath = sitePackages(version);
  return {
    version,
    pythonPath,
    env,
    runsOnDenyAll: denyAll,
    available() {
      let ok = availability.get(version);
      if (ok === undefined) {
        ok =
          pythonPath.every((p) => existsSync(p)) &&
          spawnSync(PYTHON, ['-c', `import celery, redis, sys; sys.exit(0 if celery.__version__.startswith('${version}.') else 1)`], {
            stdio: 'ignore',
            env: { ...process.env, PYTHONPATH: pythonPath.join(':') },
          }).status === 0;
        availability.set(version, ok);
      }
      return ok;
    },
  };
}

export const CELERY_PEERS: Record<CeleryVersion, CeleryPeer> = {
  '5.2': peer('5.2', {}, () => false),
  '5.5': peer('5.5', {}, () => false),
  '5.6': peer('5.6', { INTEROP_EXCLUSIVE_QUEUES: '1' }, (backend) => !backend.startsWith('rpc')),
};

export const CELERY_VERSIONS: CeleryVersion[] = ['5.2', '5.5', '5.6'];

/** The RabbitMQ 4.x node a peer's cell uses: the deny-all one when the peer runs there, else the permissive one. */
export function amqp4UrlFor(version: CeleryVersion, backend: string): string {
  return CELERY_PEERS[version].runsOnDenyAll(backend) ? AMQP4_URL : AMQP4_PERMISSIVE_URL;
}

/** OpenTelemetry's Python API and SDK (sid), unpacked by scripts/interop/celery-peers.sh: the tracing peer's. */
export const OTEL_PYTHON_PATH = join(PEERS_CACHE, 'otel', 'usr', 'lib', 'python3', 'dist-packages');

let otelAvailable: boolean | undefined;

/** Whether PYTHON imports OpenTelemetry's SDK (its in-memory exporter) from OTEL_PYTHON_PATH. */
export function otelPythonAvailable(): boolean {
  otelAvailable ??=
    existsSync(OTEL_PYTHON_PATH) &&
    spawnSync(PYTHON, ['-c', 'from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter'], {
      stdio: 'ignore',
      env: { ...process.env, PYTHONPATH: OTEL_PYTHON_PATH },
    }).status === 0;
  return otelAvailable;
}

/** PYTHONPATH for a peer: the given folders first (the test's Python files), then the peer's Celery. */
export function pythonPathFor(version: CeleryVersion, ...dirs: string[]): string {
  return [...dirs, ...CELERY_PEERS[version].pythonPath].join(':');
}

/**
 * The startup banner a worker logs once (Celery's celery/apps/worker.py layout): node name and
 * version, broker and backend with passwords masked, concurrency, task events, queues, tasks.
 */
import { platform, arch } from 'node:os';
import { clipLogText, DEFAULT_MAX_LOG_FIELD_LENGTH } from '../../common/log-line.js';
import type { QueueDeclaration } from '../../transport/broker.interface.js';
import { queueTypeOf } from '../../transport/broker.interface.js';
import { SOFTWARE_INFO } from '../events/event.js';

/** What the banner shows, as the worker knows it. */
export interface BannerFacts {
  hostname: string;
  brokerUrl: string;
  backendUrl: string;
  /** the pool's size, or under autoscale Celery's `{min=1, max=3}` */
  concurrency: number | string;
  taskEvents: boolean;
  /** the consumed queues as declared */
  queues: QueueDeclaration[];
  /** registered task names (Celery's builtins, celery.*, are left out as Celery does at INFO) */
  tasks: string[];
}

const field = (text: string) => clipLogText(text, DEFAULT_MAX_LOG_FIELD_LENGTH);

/** `.> celery           exchange=celery(direct) key=celery type=classic`, Celery's QUEUE_FORMAT plus the queue type. */
function queueLine(q: QueueDeclaration): string {
  const exchange = q.exchange ?? q.name;
  return `.> ${field(q.name).padEnd(16)} exchange=${field(exchange)}(${q.exchangeType ?? 'direct'}) key=${field(q.routingKey ?? q.name)} type=${queueTypeOf(q)}`;
}

export function workerBanner(facts: BannerFacts): string {
  const tasks = facts.tasks.filter((name) => !name.startsWith('celery.')).sort();
  return [
    `${field(facts.hostname)} v${SOFTWARE_INFO.sw_ver} (nestjs-celery)`,
    '',
    `${platform()}-${arch()} node ${process.version} ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`,
    '',
    '[config]',
    `.> transport:   ${field(facts.brokerUrl)}`,
    `.> results:     ${field(facts.backendUrl)}`,
    `.> concurrency: ${facts.concurrency} (event loop)`,
    `.> task events: ${facts.taskEvents ? 'ON' : 'OFF (enable sendTaskEvents to monitor tasks in this worker)'}`,
    '',
    '[queues]',
    ...facts.queues.map(queueLine),
    '',
    '[tasks]',
    ...(tasks.length ? tasks.map((name) => `  . ${field(name)}`) : ['  (none)']),
  ].join('\n');
}

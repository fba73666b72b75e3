// A beat replica for the failover test: leads or follows until SIGKILLed. argv: redisUrl key queue
// every(s) lockTimeoutMs onceAt(ISO); prints "ready", then "leading" when it takes the lead.
import { Beat, Celery, RedisBroker, silentLoggerForChild } from './child-lib.mjs';

const [redisUrl, key, queue, every, lockTimeoutMs, onceAt] = process.argv.slice(2);
const app = new Celery({ broker: new RedisBroker(redisUrl, { logger: silentLoggerForChild }), logger: silentLoggerForChild });
const logger = {
  ...silentLoggerForChild,
  log: (line) => line.startsWith('beat: leading') && console.log('leading'),
};
const beat = new Beat(app, {
  key,
  redisUrl,
  lockTimeoutMs: Number(lockTimeoutMs),
  logger,
  schedule: {
    tick: { task: 'beat.tick', schedule: { every: Number(every) }, options: { queue } },
    once: { task: 'beat.once', schedule: { at: onceAt }, options: { queue } },
  },
});
await beat.start();
console.log('ready');

// installCanvas: wires Celery's canvas (continuation and builtin tasks) into a worker.
import type { CeleryLogger } from '../../common/logger.js';
import { registerCanvasBuiltins, type CanvasWorker } from './builtins.js';
import { CanvasContinuation } from './continuation.js';
import './index.js';

/**
 * Give a worker Celery's canvas: the continuation (chains, callbacks, errbacks, chords) and the
 * builtin tasks canvas sends (celery.map, celery.starmap, celery.chunks, celery.chord_unlock).
 */
export function installCanvas(worker: CanvasWorker, logger: CeleryLogger): CanvasContinuation {
  const continuation = new CanvasContinuation(worker.app, logger, worker.options.continuationAttempts);
  registerCanvasBuiltins(worker, continuation, logger);
  return continuation;
}

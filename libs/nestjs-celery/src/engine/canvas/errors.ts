// Errors canvas raises when a signature, a chain/group/chord or the result backend cannot do what was asked.
import { CeleryError } from '../errors.js';

/** A signature dict that cannot be read (no task name, unknown subtask_type). */
export class InvalidSignatureError extends CeleryError {}

/** A canvas that would send nothing and has no result (an empty chain). */
export class EmptyCanvasError extends CeleryError {}

/**
 * The result backend cannot join chords: Celery 5.2's rpc:// backend refuses them too
 * (celery/backends/rpc.py `ensure_chords_allowed`), since a third party (the worker running the
 * body) cannot read results that travel to the caller's reply queue.
 */
export class ChordsNotSupportedError extends CeleryError {
  constructor(backendKind: string) {
    super(
      `the "${backendKind}" result backend does not support chords (a group chained with a task is a chord too); ` +
        'use the Redis result backend (redis://), which joins chords natively, as Celery 5.2 requires',
    );
  }
}

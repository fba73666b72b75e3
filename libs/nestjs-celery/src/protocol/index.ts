/** protocol/: Celery and kombu wire formats as pure functions and types (no I/O). */
export * from './states.js';
export * from './errors.js';
export * from './transport-message.js';
export * from './result-meta.js';
export * from './signature.js';
export * from './json.js';
export * from './dates.js';
export * from './repr.js';
export * from './compression.js';
export * from './msgpack.js';
export * from './yaml.js';
export * from './serialization.js';
export * from './task-message.js';
export * from './python-errors.js';
export * from './exceptions.js';
export * from './kombu-envelope.js';

/** The in-process family's entry point: broker and result backend for tests and single-process apps. */
export { MemoryBroker, MemoryVhost } from './memory.broker.js';
export { MemoryBackend } from './memory.backend.js';

/**
 * The errors, failures, task predicates, states and wire shapes a user of the root entry and of nestjs-celery/engine
 * meets alike: one list, exported by both.
 */
// errors the app and worker raise, and failures as senders see them
export {
  CeleryError,
  CeleryTimeoutError,
  NoResultBackendError,
  BrokerUnavailableError,
  PublishTimeoutError,
  DeclarationLimitError,
  InvalidTaskOptionsError,
  ImproperlyConfiguredError,
  QueueMismatchError,
} from './errors.js';
export { CeleryTaskError, JS_EXCEPTION_MODULE, type ExceptionInfo } from '../protocol/exceptions.js';
export * from '../protocol/python-errors.js';
export { Retry, Reject, Ignore } from '../protocol/task-predicates.js';
export { ProtocolError, InvalidTaskError, DecodeError, ContentDisallowedError, MessageTooLargeError } from '../protocol/errors.js';

// protocol: states and the wire shapes results and signatures take
export { States, READY_STATES, UNREADY_STATES, EXCEPTION_STATES, PROPAGATE_STATES, isReady, type TaskState } from '../protocol/states.js';
export type { ResultMeta } from '../protocol/result-meta.js';
export type { SignatureDict } from '../protocol/signature.js';
export type { SerializerName, CompressionName } from '../protocol/serialization.js';

/** Typed protocol errors. `taskId` is set whenever the id could be read, so a FAILURE can be stored. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly taskId?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** The message is not a valid Celery task message (Celery's InvalidTaskError). */
export class InvalidTaskError extends ProtocolError {}
/** The body could not be decoded with its declared content type / encoding. */
export class DecodeError extends ProtocolError {}
/** The content type is not in accept_content (kombu's ContentDisallowed); pickle always ends here. */
export class ContentDisallowedError extends ProtocolError {}
/** The message is over the configured size limit. */
export class MessageTooLargeError extends ProtocolError {}

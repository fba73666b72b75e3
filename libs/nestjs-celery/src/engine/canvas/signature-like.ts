/**
 * What the send options need to know of a canvas: that it is one (the brand every Canvas carries)
 * and that it serializes to a signature dict. Apart from canvas.ts, so options.ts needs no import of it.
 */
import type { SignatureDict } from '../../protocol/signature.js';

export const CANVAS_BRAND = Symbol.for('nestjs-celery.canvas');

/** A canvas as options see it: link, link_error, chain and chord values. */
export interface SignatureLike {
  readonly [CANVAS_BRAND]: true;
  toDict(): SignatureDict;
}

export function isSignatureLike(value: unknown): value is SignatureLike {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CANVAS_BRAND] === true;
}

/**
 * Celery canvas: signatures, chain, group, chord, map/starmap/chunks, GroupResult: the public canvas API, as the
 * root entry and nestjs-celery/engine export it. Every primitive module is loaded here, so dicts from messages can
 * become any of them.
 */
export { Canvas, signatureFromDict, type CanvasResult } from './canvas.js';
export { Signature, signature, s, si, type TaskRef } from './signature.js';
export { Chain } from './chain.js';
export { Group, group } from './group.js';
export { Chord, chord } from './chord.js';
export { XMap, Chunks, xmap, xstarmap, chunks } from './map.js';
export { chain } from './pipe.js';
export { GroupResult, GroupMemberError, resultFromTuple, type GroupMember, type GroupMemberOutcome } from './group-result.js';
export { ChordsNotSupportedError, EmptyCanvasError, InvalidSignatureError } from './errors.js';
export type { SignatureOptions } from './options.js';

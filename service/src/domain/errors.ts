// Errors the domain raises for things a client did. The HTTP layer maps `kind` to a
// status code; nothing here knows about HTTP.

export type ErrorKind =
  | 'invalid' // 400: the request itself is malformed
  | 'unauthenticated' // 401
  | 'forbidden' // 403: this principal may not do this
  | 'not_found' // 404
  | 'conflict' // 409: illegal transition, version mismatch, concurrency key held
  | 'unprocessable'; // 422: well-formed but semantically wrong (definition invalid, key reused)

export interface ErrorDetail {
  path: string;
  message: string;
}

export class CortexError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: ErrorDetail[];
  constructor(kind: ErrorKind, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export const notFound = (what: string, id: string): CortexError =>
  new CortexError('not_found', `${what}_not_found`, `${what} ${id} does not exist`);

export const forbidden = (message: string): CortexError => new CortexError('forbidden', 'forbidden', message);

export const conflict = (code: string, message: string): CortexError => new CortexError('conflict', code, message);

export const invalid = (message: string, details: ErrorDetail[] = []): CortexError =>
  new CortexError('invalid', 'invalid_request', message, details);

// Every error leaves as {"error":{"code","message","details"}}. Client mistakes get a
// 4xx that says which field and what is wrong; only our own faults are a 500.

import type { NextFunction, Request, Response } from 'express';
import { CortexError, type ErrorKind } from '../domain/errors.ts';
import { ConcurrencyKeyTaken, DuplicateRecord, VersionConflict } from '../store/store.ts';
import type { Logger } from '../log.ts';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
};

export function sendError(res: Response, status: number, code: string, message: string, details: unknown[] = []): void {
  if (res.headersSent) return;
  res.status(status).json({ error: { code, message, details } });
}

/** body-parser and express errors carry `type` / `status`. */
interface FrameworkError {
  type?: string;
  status?: number;
  statusCode?: number;
  message?: string;
  limit?: number;
}

export function errorMapper(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (error instanceof CortexError) {
      if (error.kind === 'unauthenticated') res.setHeader('WWW-Authenticate', 'Bearer');
      return sendError(res, STATUS[error.kind], error.code, error.message, error.details);
    }
    if (error instanceof ConcurrencyKeyTaken) {
      return sendError(res, 409, 'concurrency_key_taken', error.message, [{ path: 'body.concurrency_key', message: 'held by a running run' }]);
    }
    if (error instanceof DuplicateRecord) return sendError(res, 409, 'already_exists', error.message);
    if (error instanceof VersionConflict) return sendError(res, 409, 'concurrent_update', error.message);
    const framework = (error ?? {}) as FrameworkError;
    switch (framework.type) {
      case 'entity.too.large':
        return sendError(res, 413, 'payload_too_large', `request body is larger than the limit of ${framework.limit} bytes`);
      case 'entity.parse.failed':
        return sendError(res, 400, 'malformed_json', 'request body is not valid JSON (an object or array is expected)');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendError(res, 415, 'unsupported_encoding', framework.message ?? 'unsupported body encoding');
      case 'request.aborted':
        return sendError(res, 400, 'request_aborted', 'the request body was not received completely');
      default:
        break;
    }
    const status = framework.status ?? framework.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, status, 'bad_request', framework.message ?? 'bad request');
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
    sendError(res, 500, 'internal', 'internal error; see the service log');
  };
}

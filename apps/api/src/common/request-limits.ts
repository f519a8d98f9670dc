import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { errorBody } from '../errors/app-error.filter';
import type { TokenVerifier } from '../auth/token-verifier';
import { findJsonProblem } from '@forfait/application';

/** A JSON body, authenticated: the largest import batch (5 000 items) fits. */
export const MAX_JSON_BYTES = 5 * 1024 * 1024;
/**
 * A body sent without a valid token is refused before being read above this size: nobody gets to
 * make the server read megabytes before learning that the token was missing (api.md, 413).
 */
export const MAX_UNAUTHENTICATED_BODY_BYTES = 16 * 1024;

/** The batch imports judge their items one by one: a bad string in an item rejects that item only. */
const BATCH_ROUTES = /^\/v1\/imports\/(prefills|measures)\/?$/;
const ITEM = /^body\.items\[\d+\]$/;

/** Content encodings body-parser inflates (JSON only, with the inflated size limited); none elsewhere. */
const JSON_ENCODINGS = new Set(['identity', 'gzip', 'deflate', 'br']);

function send(res: Response, status: number, code: string, message: string, close = false): void {
  if (close) res.setHeader('Connection', 'close');
  res.status(status).json(errorBody(status, code, message));
}

const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** The URL decodes, and carries no NUL: path parameters and queries reach stores and logs. */
export function urlCheck(req: Request, res: Response, next: NextFunction): void {
  let decoded: string;
  try {
    decoded = decodeURIComponent(req.originalUrl);
  } catch {
    return send(res, 400, 'VALIDATION_FAILED', 'URL : encodage %xx invalide');
  }
  if (decoded.includes('\u0000')) return send(res, 400, 'VALIDATION_FAILED', 'URL : contient un caractère NUL (%00), refusé');
  next();
}

/** Content-Encoding: what we can decode, else 415 before the body is read. */
export function contentEncodingCheck(req: Request, res: Response, next: NextFunction): void {
  const header = req.headers['content-encoding'];
  if (header === undefined || !hasBody(req)) return next();
  const encodings = header.split(',').map((e) => e.trim().toLowerCase());
  const allowed = req.is('application/json') ? JSON_ENCODINGS : new Set(['identity']);
  if (encodings.length !== 1 || !allowed.has(encodings[0]!)) {
    return send(
      res,
      415,
      'UNSUPPORTED_CONTENT_ENCODING',
      `Content-Encoding « ${header} » non pris en charge (acceptés : ${[...allowed].join(', ')}${allowed.size > 1 ? ', pour un corps JSON' : ''})`,
      true,
    );
  }
  next();
}

/**
 * A body larger than MAX_UNAUTHENTICATED_BODY_BYTES (or of unknown length) is read only for a valid
 * token: checked here, before the body parser and the guard (which verifies it again; HS256 costs
 * microseconds, a JWKS is cached).
 */
export function unauthenticatedBodyLimit(verifier: TokenVerifier) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!hasBody(req)) return next();
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (length !== undefined && length <= MAX_UNAUTHENTICATED_BODY_BYTES) return next();
    verifier.verify(req.headers.authorization).then(
      () => next(),
      () =>
        send(
          res,
          413,
          'PAYLOAD_TOO_LARGE',
          `sans jeton valide, un corps de requête est limité à ${MAX_UNAUTHENTICATED_BODY_BYTES} octets${length === undefined ? ' et doit annoncer sa taille (Content-Length)' : ` (${length} annoncés)`}`,
          true,
        ),
    );
  };
}

/** A body that stops arriving for `ms`: the socket is dropped (slow bodies hold a connection each). */
export function bodyIdleTimeout(ms: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!hasBody(req)) return next();
    const socket = req.socket;
    // No callback: the http server's own 'timeout' handling destroys the socket when no one listens.
    socket.setTimeout(ms);
    const clear = () => socket.setTimeout(0);
    req.once('end', clear);
    req.once('close', clear);
    next();
  };
}

/** The body parser's refusals, in the envelope of api.md (they happen before Nest's filter can see them). */
export function bodyParserErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  // What was thrown may be anything (an Express error handler's contract): only an object is read.
  if (typeof error !== 'object' || error === null) return next(error);
  const e = error as { type?: string; status?: number; code?: string; limit?: number; message?: string };
  if (typeof e.status !== 'number' && e.type === undefined) return next(error);
  if (e.type === 'entity.too.large')
    return send(res, 413, 'PAYLOAD_TOO_LARGE', `corps JSON trop volumineux (au plus ${e.limit ?? MAX_JSON_BYTES} octets)`, true);
  if (e.type === 'encoding.unsupported') return send(res, 415, 'UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding non pris en charge`, true);
  if (typeof e.code === 'string' && e.code.startsWith('Z_'))
    return send(res, 415, 'UNSUPPORTED_CONTENT_ENCODING', `corps compressé illisible (${e.code})`, true);
  if (e.type === 'charset.unsupported') return send(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'jeu de caractères non pris en charge (UTF-8 attendu)');
  if (e.type === 'entity.parse.failed') return send(res, 400, 'VALIDATION_FAILED', `body : JSON mal formé (${e.message ?? 'syntaxe'})`);
  if (e.type === 'request.aborted' || e.type === 'request.size.invalid') return send(res, 400, 'VALIDATION_FAILED', 'body : corps de requête incomplet', true);
  return send(res, e.status ?? 400, 'VALIDATION_FAILED', `body : corps de requête refusé (${e.message ?? e.type})`);
}

/** Every parsed JSON body, before any DTO or store: NUL, lone surrogates, prototype keys, depth. */
export function jsonBodyCheck(req: Request, res: Response, next: NextFunction): void {
  if (req.body === undefined || typeof req.body !== 'object' || req.body === null) return next();
  const batch = BATCH_ROUTES.test(req.path);
  const problem = findJsonProblem(req.body, batch ? { skipStrings: (field) => ITEM.test(field) } : {});
  if (problem) return send(res, 400, 'VALIDATION_FAILED', problem.message);
  next();
}

/**
 * Node's own answers to broken requests (headers too large, bad syntax, timeouts) are bare status
 * lines; these carry the JSON envelope (api.md, 400/408/431).
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'en-têtes de requête trop volumineux']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'REQUEST_TIMEOUT', 'requête trop lente : délai dépassé']
          : [400, 'BAD_REQUEST', 'requête HTTP mal formée'];
    const body = JSON.stringify(errorBody(status, code, message));
    const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** Slow clients hold sockets: headers, then the whole request, must arrive in bounded time. */
export function applyServerTimeouts(server: Server, http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number }): void {
  server.headersTimeout = http.headersTimeoutMs;
  server.requestTimeout = http.requestTimeoutMs;
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  // Node checks these bounds every connectionsCheckingInterval (30 s by default): check often
  // enough for a low bound to mean what it says. Read when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    250,
    Math.min(1000, Math.floor(http.headersTimeoutMs / 2)),
  );
}

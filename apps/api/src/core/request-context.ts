import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export type ContextRequest = Request & { correlationId: string };

/** X-Correlation-Id: taken from the caller when it is sane, generated otherwise, echoed back. */
export function correlationMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.header('x-correlation-id');
  const id = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
  (req as ContextRequest).correlationId = id;
  res.setHeader('X-Correlation-Id', id);
  next();
}

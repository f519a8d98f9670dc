import { AppError, ERROR_CODES, type ErrorCode } from '@forfait/events';
import { NotFoundException, type ArgumentsHost } from '@nestjs/common';
import { REFUSAL_CODES } from '@forfait/domain';
import { AppErrorFilter, STATUS_OF_CODE, statusOfCode } from './app-error.filter';

describe('error codes -> HTTP statuses, typed against the union of codes', () => {
  it('gives every code of the union a status, and maps nothing else', () => {
    expect(Object.keys(STATUS_OF_CODE).sort()).toEqual([...new Set(ERROR_CODES)].sort());
    for (const code of ERROR_CODES) expect(STATUS_OF_CODE[code]).toBeGreaterThanOrEqual(400);
  });

  it('lists the rules’ refusals among the codes', () => {
    for (const code of REFUSAL_CODES) expect(ERROR_CODES).toContain(code);
  });

  it('keeps api.md’s statuses of a few codes', () => {
    const some: Partial<Record<ErrorCode, number>> = {
      CHANNEL_NOT_ALLOWED: 403,
      MODALITY_NOT_ALLOWED: 422,
      STALE_REVISION: 412,
      CAMPAIGN_CLOSED: 409,
      INVALID_RPPS: 400,
      CAMPAIGN_NOT_FOUND: 404,
      STORE_UNAVAILABLE: 503,
    };
    for (const [code, status] of Object.entries(some)) expect(statusOfCode(code)).toBe(status);
  });

  it('answers a code outside the union (which the types refuse) as a fault, not as a refusal', () => {
    expect(statusOfCode('NOT_A_CODE')).toBe(500);
  });

  it('refuses, at compile time, an AppError whose code is not in the union (npm run lint type-checks this file)', () => {
    class Listed extends AppError {
      readonly code = 'CAMPAIGN_CLOSED';
    }
    class Unlisted extends AppError {
      // @ts-expect-error a new code must be added to ERROR_CODES, and then to STATUS_OF_CODE
      readonly code = 'SOMETHING_NEW';
    }
    expect(new Listed('x').code).toBe('CAMPAIGN_CLOSED');
    expect(statusOfCode(new Unlisted('x').code)).toBe(500);
  });
});

describe('the messages the filter writes itself are French', () => {
  const answer = (exception: unknown) => {
    const sent: { status?: number; body?: Record<string, unknown> } = {};
    const response = {
      setHeader: () => undefined,
      status(code: number) {
        sent.status = code;
        return this;
      },
      json(body: Record<string, unknown>) {
        sent.body = body;
      },
    };
    const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
    new AppErrorFilter().catch(exception, host);
    return sent;
  };

  it('names a missing route in French and points to /docs; a fault is a French 500 without its stack', () => {
    const missing = answer(new NotFoundException('Cannot GET /nowhere'));
    expect(missing).toEqual({
      status: 404,
      body: {
        statusCode: 404,
        error: 'Not Found',
        code: 'NOT_FOUND',
        message: 'GET /nowhere : aucune route ici ; les routes de l’API sont décrites sur /docs',
      },
    });
    const fault = answer(new Error('boom at line 3'));
    expect(fault.status).toBe(500);
    expect(fault.body).toMatchObject({ code: 'INTERNAL_ERROR', message: expect.stringMatching(/^erreur interne du serveur/) as unknown });
    expect(JSON.stringify(fault.body)).not.toContain('boom');
  });
});

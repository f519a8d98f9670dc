import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { Client } from 'pg';
import { signDevToken } from '@forfait/platform';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { DATABASE_URL, mintTokens, schemaName, startTestSystem, type Json } from './support/e2e';
import { dropSchemas } from './support/servers';

// Issue 11: hostile input, tokens and limits, against the running API on PostgreSQL (jsonb is what
// refuses NUL and lone surrogates, so this is where a missed check shows as a 500).
const SECRET = 'hostile-e2e-secret-hostile-e2e-secret-01';
const GP = '10000000017'; // caisse 441
const YEAR = 2023;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Json;
}

const schema = schemaName('hostile_e2e');
const dataDir = mkdtempSync(join(tmpdir(), 'forfait-hostile-'));

describe('hostile input, tokens and limits (issue 11), on PostgreSQL', () => {
  let system: StartedSystem;
  let host: string;
  let port: number;
  const tokens: Record<string, string> = {};

  /** A request as sent on the wire, body bytes as given (no JSON.stringify that would tidy them). */
  const raw = (method: string, path: string, options: { headers?: Record<string, string | number>; body?: string | Buffer; bodyBytes?: number } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = httpRequest({ host, port, method, path, headers: options.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Json = {};
          try {
            body = text ? (JSON.parse(text) as Json) : {};
          } catch {
            body = { unparsable: text.slice(0, 200) };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.on('error', reject);
      if (options.body !== undefined) req.end(options.body);
      else req.end();
    });
  const json = (method: string, path: string, token: string | null, body: string, headers: Record<string, string> = {}) =>
    raw(method, path, { headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body });
  const call = (method: string, path: string, token: string | null, body?: unknown) =>
    body === undefined ? raw(method, path, { headers: token ? { authorization: `Bearer ${token}` } : {} }) : json(method, path, token, JSON.stringify(body));
  const head = async () => system.runtime.store.headPosition();
  /** The envelope of api.md, the status and code expected, and nothing appended. */
  const refused = async (status: number, code: string, request: () => Promise<Answer>) => {
    const before = await head();
    const res = await request();
    expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
    expect(res.body).toEqual({
      statusCode: status,
      error: expect.any(String),
      message: expect.any(String),
      code,
      ...(res.body.details ? { details: res.body.details } : {}),
    });
    expect(await head()).toBe(before);
    return res.body;
  };
  const segurLap = (editor: string, name = 'MédiLog') => ({
    indicator: 'V1_SEGUR_LAP',
    value: { segurSoftware: { editor, name, version: '5', acquiredOn: '2023-03-01' }, lapCertified: true },
    attestation: true,
  });
  const declarations = `/v1/doctors/${GP}/campaigns/${YEAR}/declarations`;

  beforeAll(async () => {
    system = await startTestSystem({
      STORE: 'postgres',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      DATA_DIR: join(dataDir, 'pg'),
      AUTH_JWT_SECRET: SECRET,
      CLOCK: '2024-01-15T10:00:00+01:00',
      REDIS_URL: 'redis://127.0.0.1:6379',
      HTTP_HEADERS_TIMEOUT_SECONDS: '2',
      HTTP_REQUEST_TIMEOUT_SECONDS: '5',
      HTTP_BODY_IDLE_TIMEOUT_SECONDS: '3',
      RATE_LIMIT_BURST: '10',
      RATE_LIMIT_PER_MINUTE: '6',
    });
    const url = new URL(system.url);
    host = url.hostname;
    port = Number(url.port);
    const minted = await mintTokens(SECRET, {
      admin: { role: 'admin' },
      system: { role: 'system' },
      gp: { role: 'doctor', rpps: GP },
      controller: { role: 'controller', caisse: '441' },
    });
    Object.assign(tokens, minted);
    expect(
      (
        await call('POST', '/v1/campaigns', minted.admin, {
          year: YEAR,
          ruleset: 'FS-2023',
          opensAt: '2023-12-11T00:00:00+01:00',
          closesAt: '2024-02-04T23:59:59.999+01:00',
        })
      ).status,
    ).toBe(201);
    expect((await call('PUT', `/v1/doctors/${GP}`, minted.system, { specialty: 'medecine-generale', caisse: '441', department: '44' })).status).toBe(200);
  });
  afterAll(async () => {
    await system?.close();
    await dropSchemas(DATABASE_URL, schema, `${schema}_rm`);
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('6. bad input is a 4xx with a code, never a 5xx', () => {
    it('refuses NUL and lone surrogates in any string of a JSON body, naming the field', async () => {
      expect((await refused(400, 'VALIDATION_FAILED', () => call('POST', declarations, tokens.gp!, segurLap('Édi\u0000teur')))).message).toMatch(
        /body\.value\.segurSoftware\.editor.*NUL/,
      );
      expect((await refused(400, 'VALIDATION_FAILED', () => call('POST', declarations, tokens.gp!, segurLap('Éditeur', 'Médi\ud800Log')))).message).toMatch(
        /body\.value\.segurSoftware\.name.*surrogate/,
      );
      // In a key too, and a low surrogate alone.
      expect(
        (
          await refused(400, 'VALIDATION_FAILED', () =>
            json('POST', declarations, tokens.gp!, '{"indicator":"V2_CODAGE","value":{"answer":true,"x\\u0000":1},"attestation":true}'),
          )
        ).message,
      ).toMatch(/body\.value/);
      await refused(400, 'VALIDATION_FAILED', () => call('POST', '/v1/imports/measures', tokens.system!, { source: 'SNDS\udc00', items: [{}] }));
      // The same declaration, clean, is accepted.
      expect((await call('POST', declarations, tokens.gp!, segurLap('Éditeur'))).status).toBe(201);
    });

    it('in an import batch, rejects the item with its index and keeps the others', async () => {
      const prefill = (editor: string) => ({
        rpps: GP,
        year: YEAR,
        indicator: 'V1_SEGUR_LAP',
        value: { segurSoftware: { editor, name: 'Log', version: '1', acquiredOn: '2023-02-01' }, lapCertified: true },
      });
      const res = await call('POST', '/v1/imports/prefills', tokens.system!, {
        source: 'SONS',
        items: [prefill('Un'), prefill('De\u0000ux'), prefill('Tr\ud801ois')],
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 3, appended: 1, status: 'partial' });
      expect(res.body.rejected).toEqual([
        { index: 1, code: 'VALIDATION_FAILED', message: expect.stringMatching(/items\[1\]\.value\.segurSoftware\.editor/) },
        { index: 2, code: 'VALIDATION_FAILED', message: expect.stringMatching(/items\[2\]\.value\.segurSoftware\.editor/) },
      ]);
      const measures = await call('POST', '/v1/imports/measures', tokens.system!, {
        source: 'SNDS',
        items: [
          { rpps: GP, year: YEAR, indicator: 'V2_PSE', numerator: 80, denominator: 100 },
          { rpps: GP, year: YEAR, indicator: 'V2_AAT\u0000', numerator: 1, denominator: 2 },
        ],
      });
      expect(measures.status).toBe(200);
      expect(measures.body).toMatchObject({
        received: 2,
        appended: 1,
        rejected: [{ index: 1, code: 'VALIDATION_FAILED', message: expect.stringMatching(/items\[1\]\.indicator/) }],
      });
      // A prototype key is hostile, not a bad line: the whole batch is refused.
      const proto = `{"source":"SNDS","items":[{"rpps":"${GP}","year":${YEAR},"indicator":"V2_AAT","numerator":1,"denominator":2,"__proto__":{"polluted":true}}]}`;
      expect((await refused(400, 'VALIDATION_FAILED', () => json('POST', '/v1/imports/measures', tokens.system!, proto))).message).toMatch(
        /items\[0\]\.__proto__/,
      );
    });

    it('refuses JSON nested deeper than 32 levels, and malformed JSON, with the envelope', async () => {
      const deep = `{"indicator":"V2_CODAGE","value":${'{"a":'.repeat(40)}1${'}'.repeat(40)},"attestation":true}`;
      expect((await refused(400, 'VALIDATION_FAILED', () => json('POST', declarations, tokens.gp!, deep))).message).toMatch(/32 niveaux/);
      const deepArray = `{"source":"SNDS","items":[${'['.repeat(5000)}${']'.repeat(5000)}]}`;
      await refused(400, 'VALIDATION_FAILED', () => json('POST', '/v1/imports/measures', tokens.system!, deepArray));
      expect((await refused(400, 'VALIDATION_FAILED', () => json('POST', declarations, tokens.gp!, '{"indicator": "V2_CODAGE",'))).message).toMatch(
        /JSON mal formé/,
      );
      await refused(400, 'VALIDATION_FAILED', () => json('POST', declarations, tokens.gp!, '"just a string"'));
    });

    it('refuses __proto__, constructor and prototype keys like any unknown field', async () => {
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const body = `{"indicator":"V2_CODAGE","value":{"answer":true},"attestation":true,"${key}":{"isAdmin":true}}`;
        expect((await refused(400, 'VALIDATION_FAILED', () => json('POST', declarations, tokens.gp!, body))).message).toContain(key);
        const nested = `{"indicator":"V2_CODAGE","value":{"answer":true,"${key}":{"x":1}},"attestation":true}`;
        await refused(400, 'VALIDATION_FAILED', () => json('POST', declarations, tokens.gp!, nested));
      }
      expect(({} as Json).isAdmin).toBeUndefined();
    });

    it('validates the bodies of a transmission and a control closure: {} or nothing, unknown fields refused', async () => {
      await refused(400, 'VALIDATION_FAILED', () => call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/transmissions`, tokens.gp!, { force: true }));
      await refused(400, 'VALIDATION_FAILED', () => call('POST', `/v1/doctors/${GP}/campaigns/${YEAR}/transmissions`, tokens.gp!, []));
      await refused(400, 'VALIDATION_FAILED', () =>
        call('POST', '/v1/controls/ctl-2023-10000000017-000000000000/closure', tokens.controller!, { recomputedAmountCents: 0 }),
      );
    });

    it('answers 413 PAYLOAD_TOO_LARGE with the envelope; without a valid token, before reading the body', async () => {
      const big = JSON.stringify({ source: 'SNDS', items: [{ pad: 'x'.repeat(6 * 1024 * 1024) }] });
      await refused(413, 'PAYLOAD_TOO_LARGE', () => json('POST', '/v1/imports/measures', tokens.system!, big));
      // 1 Mo announced, 10 bytes sent: answered at once (the server does not wait for the rest).
      const started = Date.now();
      const early = await new Promise<Answer>((resolve, reject) => {
        const req = httpRequest(
          { host, port, method: 'POST', path: '/v1/imports/measures', headers: { 'content-type': 'application/json', 'content-length': 1024 * 1024 } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: JSON.parse(text) as Json }));
          },
        );
        req.on('error', reject);
        req.write('{"source":"');
      });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(early.body).toEqual({
        statusCode: 413,
        error: 'Payload Too Large',
        message: expect.stringMatching(/sans jeton valide/),
        code: 'PAYLOAD_TOO_LARGE',
      });
      const forged = await signDevToken('another-secret-another-secret-0123456789', { role: 'system' });
      await refused(413, 'PAYLOAD_TOO_LARGE', () =>
        json('POST', '/v1/imports/measures', forged, JSON.stringify({ source: 'S', items: [{ pad: 'x'.repeat(100_000) }] })),
      );
      // A small unauthenticated body is read and refused as unauthenticated.
      await refused(401, 'UNAUTHENTICATED', () => json('POST', '/v1/imports/measures', null, '{}'));
    });

    it('answers 415 UNSUPPORTED_CONTENT_ENCODING for a bad or unknown Content-Encoding; gzip JSON works', async () => {
      const body = JSON.stringify(segurLap('Gzip'));
      await refused(415, 'UNSUPPORTED_CONTENT_ENCODING', () => json('POST', declarations, tokens.gp!, body, { 'content-encoding': 'compress' }));
      await refused(415, 'UNSUPPORTED_CONTENT_ENCODING', () => json('POST', declarations, tokens.gp!, body, { 'content-encoding': 'gzip' }));
      await refused(415, 'UNSUPPORTED_CONTENT_ENCODING', () => json('POST', declarations, tokens.gp!, body, { 'content-encoding': 'gzip, gzip' }));
      const zipped = await raw('POST', declarations, {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${tokens.gp}` },
        body: gzipSync(body),
      });
      expect(zipped.status).toBe(201);
      // A CSV extract is stored as sent: compressed, it is refused, and nothing is left on disk.
      const csv = gzipSync(`rpps,year,indicator,numerator,denominator\n${GP},${YEAR},V2_PSE,80,100\n`);
      await refused(415, 'UNSUPPORTED_CONTENT_ENCODING', () =>
        raw('POST', '/v1/imports/measures?source=SNDS', {
          headers: { 'content-type': 'text/csv', 'content-encoding': 'gzip', authorization: `Bearer ${tokens.system}` },
          body: csv,
        }),
      );
      const imports = join(dataDir, 'pg', 'imports');
      expect(existsSync(imports) ? readdirSync(imports) : []).toEqual([]);
    });

    it('answers 431 HEADERS_TOO_LARGE with the envelope, and a bad URL with a 400', async () => {
      const res = await raw('GET', '/health', { headers: { 'x-padding': 'x'.repeat(20_000) } });
      expect(res.status).toBe(431);
      expect(res.body).toEqual({ statusCode: 431, error: 'Request Header Fields Too Large', message: expect.any(String), code: 'HEADERS_TOO_LARGE' });
      await refused(400, 'VALIDATION_FAILED', () => call('GET', '/v1/controls/ctl%00x', tokens.controller!));
      await refused(400, 'VALIDATION_FAILED', () => call('GET', `/v1/doctors/${GP}/history?year=%ED%A0%80`, tokens.gp!));
    });

    it('leaves no file on disk for a refused justificatif upload', async () => {
      const files = join(dataDir, 'pg', 'justificatifs');
      const list = () => (existsSync(files) ? readdirSync(files, { recursive: true }).filter((f) => !String(f).match(/^[0-9a-f]{2}$/)) : []);
      const upload = (year: number, content: Buffer) => {
        const form = new FormData();
        form.append('indicator', 'V2_MAITRE_STAGE');
        form.append('file', new Blob([content]), 'attestation.pdf');
        return fetch(`${system.url}/v1/doctors/${GP}/campaigns/${year}/justificatifs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens.gp}` },
          body: form,
        });
      };
      const refusedUpload = await upload(2022, Buffer.concat([PDF, randomBytes(16)]));
      expect(refusedUpload.status).toBe(404);
      expect(await refusedUpload.json()).toMatchObject({ code: 'CAMPAIGN_NOT_FOUND' });
      expect(list()).toEqual([]);
      const notAPdf = await upload(YEAR, Buffer.from('plain text, not a justificatif'));
      expect(notAPdf.status).toBe(415);
      expect(list()).toEqual([]);
      expect((await upload(YEAR, PDF)).status).toBe(201);
      expect(list()).toHaveLength(1);
    });
  });

  describe('6. multipart form fields', () => {
    /** Every stored file of the data dir (justificatifs and attestations share one content-addressed store). */
    const files = join(dataDir, 'pg', 'justificatifs');
    const list = () =>
      existsSync(files)
        ? readdirSync(files, { recursive: true })
            .filter((f) => !String(f).match(/^[0-9a-f]{2}$/))
            .map(String)
            .sort()
        : [];
    const post = (path: string, token: string, form: FormData) =>
      fetch(`${system.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    const refusedForm = async (path: string, token: string, form: FormData, field: RegExp) => {
      const before = await head();
      const stored = list();
      const res = await post(path, token, form);
      const body = (await res.json()) as Json;
      expect({ status: res.status, code: body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: expect.stringMatching(field),
        code: 'VALIDATION_FAILED',
        ...(body.details ? { details: body.details } : {}),
      });
      expect(await head()).toBe(before);
      expect(list()).toEqual(stored);
      return body;
    };
    const justificatif = (fields: [string, string][]) => {
      const form = new FormData();
      for (const [k, v] of fields) form.append(k, v);
      // A fresh file each time: a file kept by a refused upload would show as a new entry.
      form.append('file', new Blob([Buffer.concat([PDF, randomBytes(16)])]), 'attestation.pdf');
      return form;
    };
    const attestation = (cpts: string, software = 'Logiciel SAS', extra: [string, string][] = []) => {
      const form = new FormData();
      form.append('year', String(YEAR));
      form.append('cpts', cpts);
      form.append('software', software);
      form.append('rpps', GP);
      for (const [k, v] of extra) form.append(k, v);
      form.append('file', new Blob([Buffer.concat([PDF, randomBytes(16)])]), 'attestation-cpts.pdf');
      return form;
    };

    it('refuses NUL in a field of a justificatif upload, naming the field, before any file is kept', async () => {
      const path = `/v1/doctors/${GP}/campaigns/${YEAR}/justificatifs`;
      await refusedForm(path, tokens.gp!, justificatif([['indicator', 'V2_MAITRE_STAGE\u0000']]), /form\.indicator.*NUL/);
      await refusedForm(
        path,
        tokens.gp!,
        justificatif([
          ['indicator', 'V1_SEGUR_LAP'],
          ['subjects', 'SEGUR\u0000'],
        ]),
        /form\.subjects.*NUL/,
      );
      // A JSON array in a field: what it decodes to is checked too (a lone surrogate can only come that way).
      await refusedForm(
        path,
        tokens.gp!,
        justificatif([
          ['indicator', 'V1_SEGUR_LAP'],
          ['subjects', '["SEGUR","\\ud800"]'],
        ]),
        /form\.subjects.*surrogate/,
      );
      // In a field's name: the parser refuses the part header itself, with the same code.
      await refusedForm(
        path,
        tokens.gp!,
        justificatif([
          ['indicator', 'V2_MAITRE_STAGE'],
          ['x\u0000', '1'],
        ]),
        /formulaire multipart mal formé/,
      );
      // And with an Idempotency-Key: refused before the key is taken, so the clean form under it is accepted.
      const keyed = (form: FormData) =>
        fetch(`${system.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${tokens.gp}`, 'idempotency-key': 'upload-nul' }, body: form });
      expect((await keyed(justificatif([['indicator', 'V2_MAITRE_STAGE\u0000']]))).status).toBe(400);
      expect((await keyed(justificatif([['indicator', 'V2_MAITRE_STAGE']]))).status).toBe(201);
    });

    it('refuses NUL or a lone surrogate in a field of a CPTS SAS attestation (400, not a 500), and keeps no file', async () => {
      const agent = await signDevToken(SECRET, { role: 'agent', caisse: '441', sub: 'agent-multipart' });
      await refusedForm('/v1/sas-attestations', agent, attestation('CPTS Nantes\u0000Nord'), /form\.cpts.*NUL/);
      await refusedForm('/v1/sas-attestations', agent, attestation('CPTS Nantes Nord', 'Logiciel\u0000SAS'), /form\.software.*NUL/);
      await refusedForm(
        '/v1/sas-attestations',
        agent,
        attestation('CPTS Nantes Nord', 'Logiciel SAS', [['effectiveAt', '2024-01-10T10:00:00+01:00\u0000']]),
        /form\.effectiveAt.*NUL/,
      );
      // The same form, clean, is accepted.
      const accepted = await post('/v1/sas-attestations', agent, attestation('CPTS Nantes Nord'));
      expect(accepted.status).toBe(201);
    });
  });

  describe('7. tokens', () => {
    const key = new TextEncoder().encode(SECRET);
    const admin = () => new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('admin-1').setIssuedAt();

    it('refuses a token without exp, or living longer than AUTH_MAX_TOKEN_SECONDS; accepts the development tokens', async () => {
      await refused(401, 'UNAUTHENTICATED', () => call('GET', `/v1/campaigns/${YEAR}`, 'not-a-jwt'));
      const noExp = await admin().sign(key);
      expect((await refused(401, 'UNAUTHENTICATED', () => call('GET', `/v1/campaigns/${YEAR}`, noExp))).message).toMatch(/exp/);
      const tooLong = await admin().setExpirationTime('25h').sign(key);
      expect((await refused(401, 'UNAUTHENTICATED', () => call('GET', `/v1/campaigns/${YEAR}`, tooLong))).message).toMatch(/trop longue/);
      expect((await call('GET', `/v1/campaigns/${YEAR}`, await admin().setExpirationTime('59m').sign(key))).status).toBe(200);
      expect((await call('GET', `/v1/campaigns/${YEAR}`, tokens.admin!)).status).toBe(200);
    });
    it('refuses a token issued in the future beyond 60 s of clock skew (401 UNAUTHENTICATED, reason IAT_IN_FUTURE)', async () => {
      const now = Math.floor(Date.now() / 1000);
      // iat an hour ahead, exp 30 min after it: its exp - iat is short, yet it would live 90 min.
      const ahead = await admin()
        .setIssuedAt(now + 3600)
        .setExpirationTime(now + 5400)
        .sign(key);
      const body = await refused(401, 'UNAUTHENTICATED', () => call('GET', `/v1/campaigns/${YEAR}`, ahead));
      expect(body).toMatchObject({ message: expect.stringMatching(/émis dans le futur/), details: { reason: 'IAT_IN_FUTURE' } });
      expect(
        (
          await call(
            'GET',
            `/v1/campaigns/${YEAR}`,
            await admin()
              .setIssuedAt(now + 30)
              .setExpirationTime(now + 1800)
              .sign(key),
          )
        ).status,
      ).toBe(200);
    });
  });

  describe('8. limits', () => {
    it('closes 50 sockets that send their headers byte by byte (headersTimeout 2 s here), within 15 s', async () => {
      const started = Date.now();
      const closedAfter = await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<{ ms: number; answer: string }>((resolve) => {
              const socket = connect(port, host);
              let answer = '';
              let timer: NodeJS.Timeout | undefined;
              const line = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
              let i = 0;
              socket.on('connect', () => {
                timer = setInterval(() => {
                  if (!socket.destroyed && socket.writable) socket.write(line[i++ % line.length]!);
                }, 200);
              });
              socket.on('data', (c: Buffer) => (answer += c.toString()));
              socket.on('error', () => undefined);
              socket.on('close', () => {
                clearInterval(timer);
                resolve({ ms: Date.now() - started, answer });
              });
              // The bound of the test itself: a socket still open at 15 s fails it.
              setTimeout(() => socket.destroy(), 15_000).unref();
            }),
        ),
      );
      expect(Math.max(...closedAfter.map((c) => c.ms))).toBeLessThan(14_000);
      expect(closedAfter.filter((c) => c.answer.startsWith('HTTP/1.1 408')).length).toBeGreaterThan(0);
    }, 30_000);

    it('answers 429 RATE_LIMITED with Retry-After once the bucket of a principal is empty', async () => {
      const auditor = await signDevToken(SECRET, { role: 'auditor', sub: 'auditor-rate' });
      const other = await signDevToken(SECRET, { role: 'auditor', sub: 'auditor-other' });
      const statuses: number[] = [];
      for (let i = 0; i < 10; i += 1) statuses.push((await call('GET', '/v1/integrity', auditor)).status);
      expect(statuses).toEqual(Array(10).fill(200));
      const limited = await call('GET', `/v1/doctors/${GP}/campaigns/${YEAR}/audit-bundle`, auditor);
      expect(limited.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(/réessayez dans \d+ s/),
        code: 'RATE_LIMITED',
        details: { retryAfterSeconds: expect.any(Number) },
      });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another principal has its own bucket; cheap endpoints are not limited.
      expect((await call('GET', '/v1/integrity', other)).status).toBe(200);
      expect((await call('GET', `/v1/campaigns/${YEAR}`, auditor)).status).toBe(200);
    });

    it('checks integrity from the last verified position, and still finds a tampered new event or head', async () => {
      const auditor = await signDevToken(SECRET, { role: 'auditor', sub: 'auditor-integrity' });
      const integrity = async () => {
        const res = await call('GET', '/v1/integrity', auditor);
        expect(res.status).toBe(200);
        return res.body;
      };
      const first = await integrity();
      expect(first).toMatchObject({ ok: true, verifiedUpTo: String(await head()), problems: [] });
      const second = await integrity();
      expect(second).toMatchObject({ ok: true, checkedEvents: 0, verifiedUpTo: first.verifiedUpTo, events: Number(await head()) });
      expect(second.checkedHeads).toBe(second.streams);

      const declared = await call('POST', declarations, tokens.gp!, { indicator: 'V2_CODAGE', value: { answer: true }, attestation: true });
      expect(declared.status).toBe(201);
      const third = await integrity();
      expect(third).toMatchObject({ ok: true, checkedEvents: 1, verifiedUpTo: String(await head()) });

      // A new event altered behind the system's back: detected on this call and every later one.
      const db = new Client({ connectionString: DATABASE_URL });
      await db.connect();
      try {
        await call('POST', declarations, tokens.gp!, { indicator: 'V2_CODAGE', value: { answer: false }, attestation: true });
        const position = String(await head());
        await db.query(`UPDATE "${schema}".es_events SET data = jsonb_set(data, '{value,answer}', 'true') WHERE position = $1`, [position]);
        const fourth = await integrity();
        expect(fourth).toMatchObject({
          ok: false,
          checkedEvents: 1,
          verifiedUpTo: third.verifiedUpTo,
          problems: [{ kind: 'hash-mismatch', position }],
          firstBroken: { reason: 'hash-mismatch', position },
        });
        expect((await integrity()).problems).toEqual([expect.objectContaining({ kind: 'hash-mismatch', position })]);
        await db.query(`UPDATE "${schema}".es_events SET data = jsonb_set(data, '{value,answer}', 'false') WHERE position = $1`, [position]);
        expect(await integrity()).toMatchObject({ ok: true, checkedEvents: 1, verifiedUpTo: position });

        // A verified head altered: found by comparing every head with its event.
        await db.query(`UPDATE "${schema}".es_events SET data = jsonb_set(data, '{value,answer}', 'true') WHERE position = $1`, [position]);
        expect(await integrity()).toMatchObject({ ok: false, checkedEvents: 0, problems: [{ kind: 'head-mismatch', position }] });
        await db.query(`UPDATE "${schema}".es_events SET data = jsonb_set(data, '{value,answer}', 'false') WHERE position = $1`, [position]);
      } finally {
        await db.end();
      }
    });
  });
});

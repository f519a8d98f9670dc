import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const domainBoundary = require('../../../eslint.domain-boundary.cjs') as { files: string[]; rules: object };
const root = join(__dirname, '..', '..', '..');

const linter = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [{ ...domainBoundary, languageOptions: { parser: tseslint.parser } }],
});

async function violations(code: string): Promise<string[]> {
  const [result] = await linter.lintText(code, { filePath: join(root, 'libs/domain/src/example.ts') });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('libs/domain imports nothing from NestJS, databases, queues or the clock', () => {
  it.each([
    ["import { Injectable } from '@nestjs/common';", 'no-restricted-imports'],
    ["import { Pool } from 'pg';", 'no-restricted-imports'],
    ["import { PGlite } from '@electric-sql/pglite';", 'no-restricted-imports'],
    ["import { Queue } from 'bullmq';", 'no-restricted-imports'],
    ["import Redis from 'ioredis';", 'no-restricted-imports'],
    ["import { SqlEventStore } from '@forfait/store';", 'no-restricted-imports'],
    ["import { SystemClock } from '@forfait/platform';", 'no-restricted-imports'],
    ["import { randomUUID } from 'node:crypto';", 'no-restricted-imports'],
    ['export const t = Date.now();', 'no-restricted-properties'],
    ['export const t = new Date();', 'no-restricted-syntax'],
    ['export const r = Math.random();', 'no-restricted-properties'],
    ['export const e = process.env.CLOCK;', 'no-restricted-properties'],
  ])('refuses %s', async (code, rule) => {
    expect(await violations(code)).toContain(rule);
  });

  it('allows the event catalogue and dates that arrive as data', async () => {
    expect(await violations("import type { DomainEvent } from '@forfait/events';\nexport const d = (at: string) => new Date(at);")).toEqual([]);
  });

  it('holds for every file of libs/domain as it is', async () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) files.push(path);
      }
    };
    walk(join(root, 'libs/domain/src'));
    const results = await linter.lintFiles(files.length > 0 ? files : [join(root, 'libs/domain/src/index.ts')]);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`))).toEqual([]);
  });
});

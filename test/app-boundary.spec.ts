import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { APPS, appBoundary } = require('../eslint.app-boundary.cjs') as { APPS: string[]; appBoundary: (app: string) => { files: string[]; rules: object } };
const root = join(__dirname, '..');

const linter = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: APPS.map(
    (app) =>
      ({
        ...appBoundary(app),
        plugins: { '@typescript-eslint': tseslint.plugin },
        linterOptions: { reportUnusedDisableDirectives: 'off' },
        languageOptions: { parser: tseslint.parser as never },
      }) as never,
  ),
});

async function violations(code: string, filePath: string): Promise<string[]> {
  const [result] = await linter.lintText(code, { filePath: join(root, filePath) });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

describe('apps never import each other (the boundary lint rule)', () => {
  it.each([
    ["import { signDevToken } from '../../api/src/auth/token-verifier';", 'apps/cli/src/main.ts'],
    ["import { rulesetHash } from '../../../api/src/core/entitlement.service';", 'apps/cli/src/generator/generator.ts'],
    ["import { startSystem } from '../../api/src/bootstrap';", 'apps/bench/src/main.ts'],
    ["import { writeGenerated } from '../../cli/src/generator/write';", 'apps/bench/src/main.ts'],
    ["import { ProjectorModule } from '../../projector/src/projector.module';", 'apps/api/src/bootstrap.ts'],
    ["import { x } from 'apps/api/src/x';", 'apps/projector/src/main.ts'],
  ])('refuses %s in %s', async (code, file) => {
    expect(await violations(code, file)).toContain('no-restricted-imports');
  });

  it('allows the libs and the app’s own files', async () => {
    const code = "import { DoctorYearReader } from '@forfait/application';\nimport { Scope } from '../core/scope';\nimport { api } from './api';";
    expect(await violations(code, 'apps/api/src/doctors/doctors.controller.ts')).toEqual([]);
  });

  it('holds for every file of the apps as they are (lint)', async () => {
    const files = APPS.filter((app) => app !== 'console').flatMap((app) => sources(join(root, 'apps', app)));
    const results = await linter.lintFiles(files);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`))).toEqual([]);
  });

  it('holds for every relative import of the apps, resolved (what a pattern could miss)', () => {
    const crossings: string[] = [];
    for (const app of APPS) {
      const home = join(root, 'apps', app) + sep;
      const apps = join(root, 'apps') + sep;
      for (const file of sources(join(root, 'apps', app))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
          const target = resolve(dirname(file), m[1]!);
          if (target.startsWith(apps) && !target.startsWith(home)) crossings.push(`${relative(root, file)} -> ${relative(root, target)}`);
        }
      }
    }
    expect(crossings).toEqual([]);
  });
});

// The dependency rule of architecture.md: libs/domain imports nothing from NestJS, databases,
// queues or the clock; time and ids arrive with the command. Shared by eslint.config.mjs and by
// libs/domain/src/architecture.spec.ts, which proves the rule fires.
const forbiddenModules = [
  { group: ['@nestjs/*'], message: 'libs/domain is pure: no NestJS.' },
  { group: ['pg', 'pg-*', '@electric-sql/*', '@eventstore/*', 'ioredis', 'bullmq', 'redis'], message: 'libs/domain is pure: no database, store or queue.' },
  {
    group: ['@forfait/store', '@forfait/platform', '**/libs/store/**', '**/libs/platform/**', '**/apps/**'],
    message: 'libs/domain may not depend on adapters, configuration, the clock or the apps.',
  },
  {
    group: ['node:*', 'fs', 'fs/*', 'path', 'http', 'https', 'net', 'child_process', 'os', 'crypto', 'perf_hooks'],
    message: 'libs/domain is pure: no I/O, no system clock, no random ids.',
  },
];

module.exports = {
  files: ['libs/domain/**/*.ts'],
  // The test that lints the domain reads files itself; it is not domain code.
  ignores: ['libs/domain/src/architecture.spec.ts'],
  rules: {
    'no-restricted-imports': ['error', { patterns: forbiddenModules }],
    'no-restricted-properties': [
      'error',
      { object: 'Date', property: 'now', message: 'time arrives with the command (libs/domain is pure).' },
      { object: 'Math', property: 'random', message: 'ids and randomness arrive with the command.' },
      { object: 'crypto', property: 'randomUUID', message: 'ids arrive with the command.' },
      { object: 'process', property: 'env', message: 'configuration is injected, never read in libs.' },
    ],
    'no-restricted-syntax': [
      'error',
      { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'new Date() reads the clock: time arrives with the command.' },
      { selector: "CallExpression[callee.name='require']", message: 'no dynamic requires in libs/domain.' },
    ],
  },
};

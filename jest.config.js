// One jest run for every kind of test: *.spec.ts (pure units), *.int-spec.ts (real PostgreSQL,
// PGlite, Redis) and test/*.e2e-spec.ts (the running system). swc transpiles; `npm run lint`
// type-checks.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper: {
    '^@forfait/(events|domain|store|platform|read-models|application|generator)$': '<rootDir>/libs/$1/src',
  },
  maxWorkers: 2,
  // A bound that tells an answer from a hang on a loaded 2-core machine, not a timing target.
  testTimeout: 60000,
};

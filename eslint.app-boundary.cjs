// Apps never import each other (architecture.md, "Layers"): what two apps need lives in a lib
// (libs/application for the application layer, libs/generator for the synthetic datasets).
// Shared by eslint.config.mjs and by test/app-boundary.spec.ts, which proves the rule fires.
const APPS = ['api', 'bench', 'cli', 'console', 'projector'];

/** The ESLint config that keeps apps/<app> out of every other app. */
function appBoundary(app) {
  const others = APPS.filter((a) => a !== app).join('|');
  return {
    files: [`apps/${app}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // A relative path that climbs out of this app into another one (../../api/src/…), or names apps/<other>.
              regex: `^(?:\\.\\./)+(?:apps/)?(?:${others})/|(?:^|/)apps/(?:${others})(?:/|$)`,
              message: `apps/${app} may not import another app: move what both need into a lib (libs/application, libs/generator…).`,
            },
          ],
        },
      ],
    },
  };
}

module.exports = { APPS, appBoundary };

import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

// Workspace packages export "@hexgate/source" -> src/*.ts, so tests and
// typecheck run against sources without a build step. Vite adds `import` /
// `require` by itself; listing `import` explicitly would reach Node as
// `--conditions import` and make require() inside CommonJS dependencies (pg)
// load ESM builds, and `module` points @opentelemetry/api at a build Node
// cannot load, so neither is listed.
const conditions = ['@hexgate/source', 'node', 'default'];

export function hexgateProject(name: string, extra: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: { name, environment: 'node', testTimeout: 20_000, ...extra },
  });
}

import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

// Workspace packages export "@hexgate/source" -> src/*.ts, so tests and
// typecheck run against sources without a build step.
// No 'module' condition: it makes @opentelemetry/api load an ESM build Node cannot run.
const conditions = ['@hexgate/source', 'import', 'node', 'default'];

export function hexgateProject(name: string, extra: UserWorkspaceConfig['test'] = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: { name, environment: 'node', testTimeout: 20_000, ...extra },
  });
}

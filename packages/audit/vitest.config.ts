import { hexgateProject } from '../../vitest.shared.ts';

const config = hexgateProject('audit', {
  // One throwaway PostgreSQL server (initdb + pg_ctl in a temp dir) for the run.
  globalSetup: ['./src/__fixtures__/postgres-global-setup.ts'],
});
// vitest hands the SSR conditions to the test workers as `node --conditions`;
// an explicit `import` condition there makes require() inside `pg` load
// pg-pool's ESM build and crash (`Class extends value [object Module]`).
// Node and Vite add `import` for real imports by themselves: drop it here.
const conditions = ['@hexgate/source', 'node', 'default'];
if (config.ssr?.resolve) {
  config.ssr.resolve.conditions = conditions;
  config.ssr.resolve.externalConditions = conditions;
}
export default config;

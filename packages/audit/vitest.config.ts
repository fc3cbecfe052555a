import { hexgateProject } from '../../vitest.shared.ts';

export default hexgateProject('audit', {
  // One throwaway PostgreSQL server (initdb + pg_ctl in a temp dir) for the run.
  globalSetup: ['./src/__fixtures__/postgres-global-setup.ts'],
});

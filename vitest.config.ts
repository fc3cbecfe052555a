import { defineConfig } from 'vitest/config';

// One vitest run over every package and example, so the test command ends with
// a single summary. Each project resolves workspace packages to their sources
// through the "@hexgate/source" export condition (no build needed to test).
export default defineConfig({
  test: {
    reporters: ['default', './scripts/closing-line-reporter.ts'],
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
});

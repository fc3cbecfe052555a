/**
 * vitest globalSetup: one throwaway PostgreSQL server for the whole audit
 * test run; each test file creates its own database on it (see pg-database.ts).
 */
import type { TestProject } from 'vitest/node';
import { type PostgresServer, startPostgres, stopPostgres } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let server: PostgresServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startPostgres();
  project.provide('pgUrl', server.url);
}

export function teardown(): void {
  if (server) stopPostgres(server);
  server = undefined;
}

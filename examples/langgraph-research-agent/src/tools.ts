/**
 * The research agent's tools over a small in-memory docs service: two read
 * tools and one destructive tool. Plain LangChain tools: they know nothing
 * about the policy.
 */
import { tryGetUser } from '@hexgate/core';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';

const FILES: Record<string, string> = {
  'docs/retention.md': 'Search indexes older than 12 months are deleted after review by ops.',
  'docs/onboarding.md': 'New analysts get read access to docs/ only.',
  'secrets/api-key.txt': 'sk-live-do-not-share',
};

export interface DocsService {
  readonly indexes: Set<string>;
  /** Every side effect that really happened, with the user it ran for. */
  readonly log: string[];
}

export function createDocsService(): DocsService {
  return { indexes: new Set(['staging-2023', 'staging-2024', 'prod-main']), log: [] };
}

export function createTools(service: DocsService) {
  const searchDocs = tool(
    async ({ query, limit }) => {
      const hits = Object.keys(FILES)
        .filter((path) => path.startsWith('docs/') && FILES[path]!.toLowerCase().includes(query.toLowerCase()))
        .slice(0, limit);
      return JSON.stringify(hits);
    },
    {
      name: 'search_docs',
      description: 'Full-text search over the documentation. Returns matching file paths.',
      schema: z.object({ query: z.string(), limit: z.number().int().positive() }),
    },
  );

  const readFile = tool(async ({ path }) => FILES[path] ?? `no such file: ${path}`, {
    name: 'read_file',
    description: 'Reads one file of the docs service.',
    schema: z.object({ path: z.string() }),
  });

  const deleteIndex = tool(
    async ({ index }) => {
      if (!service.indexes.delete(index)) return `no such index: ${index}`;
      service.log.push(`deleted ${index} for ${tryGetUser()?.id ?? 'nobody'}`);
      return `deleted index ${index}`;
    },
    {
      name: 'delete_index',
      description: 'Permanently deletes a search index.',
      schema: z.object({ index: z.string() }),
    },
  );

  return [searchDocs, readFile, deleteIndex];
}

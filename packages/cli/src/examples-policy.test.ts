/**
 * The example policy ships with unit tests that CI runs through
 * `hexgate policy test`. This also checks that they cover allow, deny (with
 * the violated constraints) and approval for every role that has them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO, run } from './__fixtures__/run.ts';

const TESTS = 'examples/policies/customer-support.tests.yaml';

describe('examples/policies/customer-support.tests.yaml', () => {
  it('passes `hexgate policy test` (exit 0)', async () => {
    const r = await run(['policy', 'test', TESTS], { cwd: REPO });
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed\n$/);
    expect(r.code).toBe(0);
  });

  it('covers allow, deny with violations and approval for each role', async () => {
    const r = await run(['policy', 'test', TESTS, '--json'], { cwd: REPO });
    const results: { name: string; outcome: string; violations: string[] }[] = JSON.parse(r.stdout).cases;
    const file = parse(readFileSync(join(REPO, TESTS), 'utf8')) as {
      cases: { name: string; user?: { roles?: string[] }; violations?: string[] }[];
    };
    const covered = new Map<string, Set<string>>();
    file.cases.forEach((c, i) => {
      const roles = c.user?.roles ?? [];
      const role = roles.length === 1 && ['support', 'billing'].includes(roles[0] as string) ? roles[0] : 'default';
      if (roles.length > 1) return;
      const result = results[i];
      if (!result) throw new Error(`no result for ${c.name}`);
      const kind =
        result.outcome === 'deny' && (c.violations?.length ?? 0) > 0 ? 'deny-with-violations' : result.outcome;
      const set = covered.get(role as string) ?? new Set();
      set.add(kind);
      covered.set(role as string, set);
    });
    expect(covered.get('support')).toEqual(new Set(['allow', 'approval_required', 'deny-with-violations', 'deny']));
    expect(covered.get('billing')).toEqual(new Set(['allow', 'approval_required', 'deny-with-violations']));
    // The default role has no approval_required entry in this policy: allow and deny only.
    expect(covered.get('default')).toEqual(new Set(['allow', 'deny-with-violations', 'deny']));
  });
});

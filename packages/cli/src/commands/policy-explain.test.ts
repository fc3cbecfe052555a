import { describe, expect, it } from 'vitest';
import { asUser, FIXTURES, run } from '../__fixtures__/run.ts';

const P = 'support.yaml';
const explain = (...argv: string[]) => run(['policy', 'explain', ...argv], { cwd: FIXTURES });

describe('hexgate policy explain', () => {
  it('prints each consulted role, the entry that applied, each constraint with its values, and the combination', async () => {
    const r = await explain(
      P,
      '--tool',
      'wire_transfer',
      ...asUser('billing', 'support'),
      '--args',
      '{"amount": 900, "iban": "KP12"}',
      '--ctx',
      '{"region": "US"}',
    );
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('call     wire_transfer {"amount": 900, "iban": "KP12"}');
    expect(lines[1]).toBe('caller   id kim, roles [billing, support], ctx {"region":"US"}');
    expect(lines[2]).toMatch(/^policy {3}support\.yaml \(sha256 [0-9a-f]{12}\)$/);
    expect(r.stdout).toContain(
      [
        "role 'billing'",
        `  applied  tool entry 'wire_transfer' at ${P}:40:9: mode approval_required`,
        '  ✓ true      args.amount <= 10000',
        '              args.amount = 900',
        '  ✗ false     ctx.region == "EU"',
        '              ctx.region = "US"',
        '  ✗ false     not matches(args.iban, "^(KP|IR)")',
        '              args.iban = "KP12"',
        '  → deny: constraint not satisfied: ctx.region == "EU"; not matches(args.iban, "^(KP|IR)")',
        '',
        "role 'support'",
        '  applied  default_policy (none written: deny): mode deny',
        '  (mode deny: constraints are not evaluated)',
        "  → deny: tool 'wire_transfer' is not allowed for role 'support' (default policy)",
        '',
        "combined 2 roles evaluated (allow beats approval_required beats deny): deny from 'billing'",
        '✗ DENY wire_transfer (role billing): constraint not satisfied: ctx.region == "EU"; not matches(args.iban, "^(KP|IR)")',
        '',
      ].join('\n'),
    );
  });

  it('shows an undefined result and why (a missing path)', async () => {
    const r = await explain(
      P,
      '--tool',
      'wire_transfer',
      ...asUser('billing'),
      '--args',
      '{"amount": 5, "iban": "DE1"}',
    );
    expect(r.stdout).toContain(
      '  ? undefined ctx.region == "EU" (ctx.region is missing or not applicable)\n              ctx.region = missing\n',
    );
  });

  it('shows an inherited entry and the role an unknown name fell back to', async () => {
    const r = await explain(P, '--tool', 'search_kb', ...asUser('nobody'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("role 'default' (requested nobody: not a role a caller can hold, so 'default')\n");
    expect(r.stdout).toContain(
      `  applied  tool entry 'search_kb' at ${P}:9:18: mode allow, inherited from 'read_only'\n`,
    );
    expect(r.stdout).toContain("✓ ALLOW search_kb (role default): allowed for role 'default'\n");
    expect(r.stderr).toBe("warning: role 'nobody' is not defined in the policy; it falls back to 'default'\n");
  });

  it('says when the policy has no default role', async () => {
    const r = await run(['policy', 'explain', 'lints/all-lints.yaml', '--tool', 'transfer']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "role 'default' (no role given)\n  applied  no 'default' role in this policy: deny everything\n",
    );
  });

  it('says when the arguments were rejected before evaluation', async () => {
    const r = await explain(P, '--tool', 'refund_order', '--args', '[1]');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'arguments rejected before evaluation: invalid arguments: arguments must be a JSON object, got a list\n',
    );
  });

  it('exits 0 for approval_required', async () => {
    const r = await explain(P, '--tool', 'refund_order', ...asUser('support'), '--args', '{"amount": 10}');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("⚠ APPROVAL_REQUIRED refund_order (role support): role 'support' needs human approval");
  });

  it('prints the trace as JSON with --json', async () => {
    const r = await explain(
      P,
      '--tool',
      'refund_order',
      ...asUser('billing'),
      '--args',
      '{"amount": 900, "currency": "USD"}',
      '--json',
    );
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({
      tool: 'refund_order',
      args: { amount: 900, currency: 'USD' },
      outcome: 'deny',
      decidingRole: 'billing',
      violations: ['args.amount <= consts.max_refund'],
      argsError: null,
      combination: 'one role evaluated: deny',
    });
    expect(json.policyDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(json.roles).toHaveLength(1);
    expect(json.roles[0]).toMatchObject({
      requested: 'billing',
      role: 'billing',
      applied: 'tool entry',
      mode: 'allow',
    });
    expect(json.roles[0].constraints[1]).toEqual({
      source: 'args.amount <= consts.max_refund',
      result: 'false',
      why: null,
      operands: [
        { expression: 'args.amount', value: 900, missing: false },
        { expression: 'consts.max_refund', value: 500, missing: false },
      ],
      location: { file: 'support.yaml', line: 37, column: 13 },
    });
  });

  it('shares the usage errors of policy test', async () => {
    const r = await explain(P, '--tool', 'x', '--args', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^hexgate policy explain: --args is not valid JSON: /);
    const missing = await explain('nope.yaml', '--tool', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'nope.yaml:1:1: no such policy file or directory\nhexgate policy explain: cannot load the policy nope.yaml\n',
    );
  });

  it('has --help', async () => {
    const r = await explain('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: hexgate policy explain <policy> --tool T');
    expect(r.stdout).toContain('--ctx JSON');
  });
});

import { describe, expect, it } from 'vitest';
import { brokenPolicyDir, EXAMPLE_POLICY, REPO, run, tempFiles } from '../__fixtures__/run.ts';

describe('hexgate policy validate', () => {
  it('accepts the example policy: ✓ path: N roles, M tools, exit 0', async () => {
    const r = await run(['policy', 'validate', 'examples/policies/customer-support.yaml'], { cwd: REPO });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✓ examples\/policies\/customer-support\.yaml: \d+ roles, \d+ tools\n$/);
    expect(r.stderr).toBe('');
  });

  it('accepts a policy directory (one role per file)', async () => {
    const r = await run(['policy', 'validate', 'policy-dir']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('✓ policy-dir: 2 roles, 1 tool\n');
  });

  it('prints every error with file:line:col and a suggestion, exit 1', async () => {
    const r = await run(['policy', 'validate', 'errors/constraints.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        'errors/constraints.yaml:7:27: invalid constraint "args.amount <=": expected a value, found end of constraint',
        'errors/constraints.yaml:8:30: invalid constraint "args.currency in \\"USD\\"": the right side of \'in\' must be a list literal or consts.<name>, found \'"USD"\'',
        "errors/constraints.yaml:10:16: role 'support' inherits unknown role 'defualt' (did you mean 'default'?)",
        '✗ errors/constraints.yaml: 3 errors',
        '',
      ].join('\n'),
    );
  });

  it('reports unknown keys and modes with did-you-mean hints', async () => {
    const r = await run(['policy', 'validate', 'errors/many-errors.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        "errors/many-errors.yaml:6:9: unknown key 'constraint' in roles.default.tools.get_order (did you mean 'constraints'?)",
        "errors/many-errors.yaml:9:15: unknown mode 'alow' in roles.default.tools.refund.mode (did you mean 'allow'?)",
        '✗ errors/many-errors.yaml: 2 errors',
        '',
      ].join('\n'),
    );
  });

  it('reports a YAML syntax error where it is, not at 1:1', async () => {
    const r = await run(['policy', 'validate', 'errors/syntax.yaml'], { cwd: brokenPolicyDir() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'errors/syntax.yaml:5:3: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }\n' +
        '✗ errors/syntax.yaml: 1 error\n',
    );
  });

  it('reports a missing file', async () => {
    const r = await run(['policy', 'validate', 'nope.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('nope.yaml:1:1: no such policy file or directory\n✗ nope.yaml: 1 error\n');
  });

  it('validates several paths and fails if any is invalid', async () => {
    const r = await run(['policy', 'validate', 'lints/clean.yaml', 'nope.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✓ lints/clean.yaml: 2 roles, 2 tools\n');
    expect(r.stdout).toContain('✗ nope.yaml: 1 error\n');
  });

  it('needs a path', async () => {
    const r = await run(['policy', 'validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'hexgate policy validate: missing <file-or-dir>: which policy should be validated?\n' +
        "Run 'hexgate policy validate --help' for usage.\n",
    );
  });

  it('has --help', async () => {
    const r = await run(['policy', 'validate', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: hexgate policy validate <file-or-dir>... [--strict] [--json]');
    expect(r.stdout).toContain('--strict');
    expect(r.stdout).toContain('constraint-never-holds');
  });

  describe('lints', () => {
    it('prints each lint as a warning with file:line:col and its id; exit 0 without --strict', async () => {
      const r = await run(['policy', 'validate', 'lints/all-lints.yaml']);
      expect(r.code).toBe(0);
      const f = 'lints/all-lints.yaml';
      expect(r.stdout).toBe(
        [
          `${f}:1:1: warning: the policy has no 'default' role, so every caller without a known role is denied every tool [no-default-role]`,
          `${f}:6:18: warning: in role 'staff', the grant of 'read_file' from 'reader' (allow) is always replaced by the entry from 'writer' (deny), which comes later in inherits [shadowed-grant]`,
          `${f}:17:13: warning: constraint "args.amount < 1 and args.amount > 2" can never hold, so this entry never allows a call [constraint-never-holds]`,
          `${f}:21:13: warning: constraint "args.n >= 0 or args.n < 0" always holds whenever args.n is a number, so it restricts nothing [constraint-always-holds]`,
          `${f}:22:13: warning: regex "(a+)+b" is expensive: it nests quantifiers in '(a+)+' (catastrophic under a backtracking engine) [expensive-regex]`,
          `${f}:24:9: warning: the constraints of 'payout' contradict each other: no call can satisfy all of them (args.amount <= 10; args.amount > 100) [constraints-contradict]`,
          `${f}:29:9: warning: 'purge' has mode: deny, so its 1 constraint(s) are never evaluated [ignored-constraints]`,
          `${f}:29:9: warning: tool 'purge' is only ever listed with mode: deny, and default_policy already denies it in every role that lists it; this entry changes nothing [redundant-deny]`,
          `${f}:32:13: warning: tool 'nuke' is only ever listed with mode: deny, and default_policy already denies it in every role that lists it; this entry changes nothing [redundant-deny]`,
          `✓ ${f}: 2 roles, 6 tools (9 warnings)`,
          '',
        ].join('\n'),
      );
    });

    it('fails on warnings with --strict', async () => {
      const r = await run(['policy', 'validate', '--strict', 'lints/all-lints.yaml']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('✗ lints/all-lints.yaml: 9 warnings (--strict)\n');
    });

    it('passes --strict on a policy with no findings', async () => {
      const r = await run(['policy', 'validate', '--strict', 'lints/clean.yaml']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('✓ lints/clean.yaml: 2 roles, 2 tools\n');
    });

    it('flags a default role that allows more than a named role', async () => {
      const r = await run(['policy', 'validate', 'lints/default-broader.yaml']);
      expect(r.stdout).toContain(
        "lints/default-broader.yaml:2:3: warning: role 'default' allows more than role 'support': 'lookup' (allow with fewer constraints: 0 vs 1), 'refund' (allow vs approval_required); a caller with role 'support' gets less than an unknown caller [default-role-broader]",
      );
    });

    it('flags a default_policy that a later parent always replaces', async () => {
      const r = await run(['policy', 'validate', 'lints/default-policy-shadowed.yaml']);
      expect(r.stdout).toContain(
        "lints/default-policy-shadowed.yaml:4:21: warning: in role 'default', default_policy from 'open' (allow) is always replaced: 'closed' comes later in inherits and has no default_policy (deny) [shadowed-grant]",
      );
    });

    it('flags a default role that is a mixin', async () => {
      const dir = tempFiles({
        'p.yaml': 'roles:\n  default:\n    is_mixin: true\n  staff:\n    inherits: [default]\n',
      });
      const r = await run(['policy', 'validate', 'p.yaml'], { cwd: dir });
      expect(r.stdout).toContain(
        "p.yaml:2:3: warning: role 'default' is a mixin, so callers without a known role are denied every tool [no-default-role]",
      );
    });

    it('flags large counted repetitions and long patterns', async () => {
      const long = 'a'.repeat(300);
      const dir = tempFiles({
        'p.yaml': `tools:\n  t:\n    mode: allow\n    constraints:\n      - matches(args.x, "^(ab){1000}$")\n      - matches(args.y, "${long}")\n`,
      });
      const r = await run(['policy', 'validate', 'p.yaml'], { cwd: dir });
      expect(r.stdout).toContain(
        'p.yaml:5:9: warning: regex "^(ab){1000}$" is expensive: it repeats a piece 1000 times (over 100); it expands to about 3002 instructions (over 1000) [expensive-regex]',
      );
      expect(r.stdout).toContain(
        `p.yaml:6:9: warning: regex "${long}" is expensive: the pattern is 300 characters long (over 256) [expensive-regex]`,
      );
    });

    it('does not lint the example policy', async () => {
      const r = await run(['policy', 'validate', '--strict', EXAMPLE_POLICY]);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('warning');
    });
  });

  it('prints JSON with --json', async () => {
    const r = await run(['policy', 'validate', '--json', 'lints/all-lints.yaml', 'errors/constraints.yaml']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.ok).toBe(false);
    expect(json.results).toHaveLength(2);
    const [lints, errors] = json.results;
    expect(lints).toMatchObject({ path: 'lints/all-lints.yaml', valid: true, roles: 2, tools: 6, errors: [] });
    expect(lints.warnings[0]).toEqual({
      id: 'no-default-role',
      file: 'lints/all-lints.yaml',
      line: 1,
      column: 1,
      message: "the policy has no 'default' role, so every caller without a known role is denied every tool",
    });
    expect(errors.valid).toBe(false);
    expect(errors.errors[2]).toEqual({
      file: 'errors/constraints.yaml',
      line: 10,
      column: 16,
      message: "role 'support' inherits unknown role 'defualt'",
      hint: "did you mean 'default'?",
    });
  });
});

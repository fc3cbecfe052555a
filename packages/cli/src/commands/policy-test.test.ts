import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asUser, brokenPolicyDir, EXAMPLE_POLICY, FIXTURES, run, tempFiles } from '../__fixtures__/run.ts';

const P = 'support.yaml';
const test = (...argv: string[]) => run(['policy', 'test', ...argv], { cwd: FIXTURES });

describe('hexgate policy test <policy> --tool (one decision)', () => {
  it('prints ✓ ALLOW with the tool, arguments, user, deciding role and reason; exit 0', async () => {
    const r = await test(
      P,
      '--tool',
      'refund_order',
      '--role',
      'billing',
      '--user-id',
      'bea',
      '--args',
      '{"amount": 200, "currency": "USD"}',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '✓ ALLOW refund_order',
        '  args:   {"amount":200,"currency":"USD"}',
        '  user:   id bea, roles [billing]',
        '  role:   billing',
        "  reason: allowed for role 'billing'",
        '',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
  });

  it('prints ⚠ APPROVAL_REQUIRED; exit 0', async () => {
    const r = await test(P, '--tool', 'refund_order', ...asUser('support'), '--args', '{"amount": 50}');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '⚠ APPROVAL_REQUIRED refund_order',
        '  args:   {"amount":50}',
        '  user:   id kim, roles [support]',
        '  role:   support',
        "  reason: role 'support' needs human approval to call 'refund_order'",
        '',
      ].join('\n'),
    );
  });

  it('prints ✗ DENY with each violated constraint; exit 1', async () => {
    const r = await test(
      P,
      '--tool',
      'wire_transfer',
      ...asUser('billing'),
      '--args',
      '{"amount": 20000, "iban": "IR00"}',
      '--ctx',
      '{"region": "US"}',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        '✗ DENY wire_transfer',
        '  args:   {"amount":20000,"iban":"IR00"}',
        '  user:   id kim, roles [billing], ctx {"region":"US"}',
        '  role:   billing',
        '  reason: constraint not satisfied: args.amount <= 10000; ctx.region == "EU"; not matches(args.iban, "^(KP|IR)")',
        '  violated constraints:',
        '    - args.amount <= 10000',
        '    - ctx.region == "EU"',
        '    - not matches(args.iban, "^(KP|IR)")',
        '',
      ].join('\n'),
    );
  });

  it('uses the default role without a user', async () => {
    const r = await test(P, '--tool', 'get_order', '--args', '{"order_id": "PUBLIC-1"}');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  user:   none (default role)\n  role:   default\n');
  });

  it('checks user.id from --user-id', async () => {
    const own = await test(P, '--tool', 'get_order', '--user-id', 'ORD-9', '--args', '{"order_id": "ORD-9"}');
    expect(own.code).toBe(0);
    const other = await test(P, '--tool', 'get_order', '--user-id', 'ORD-8', '--args', '{"order_id": "ORD-9"}');
    expect(other.code).toBe(1);
  });

  it('warns that an unknown role falls back to default, with a suggestion', async () => {
    const r = await test(P, '--tool', 'refund_order', ...asUser('suport'), '--args', '{"amount": 5}');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "warning: role 'suport' is not defined in the policy; it falls back to 'default' (did you mean 'support'?)\n",
    );
    expect(r.stdout).toContain('  role:   default\n');
    expect(r.stdout).toContain("reason: tool 'refund_order' is not allowed for role 'default' (default policy)");
  });

  it('warns that the fallback denies everything when the policy has no default role', async () => {
    const r = await test('lints/all-lints.yaml', '--tool', 'lookup', ...asUser('gest'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "warning: role 'gest' is not defined in the policy; it falls back to 'default', which this policy does not define (deny everything) (did you mean 'guest'?)\n",
    );
  });

  it('warns that a mixin is not a role a caller can hold', async () => {
    const r = await test(P, '--tool', 'search_kb', ...asUser('read_only'));
    expect(r.stderr).toBe(
      "warning: role 'read_only' is a mixin, not a role a caller can hold; it falls back to 'default'\n",
    );
  });

  it('combines several roles (the most permissive wins)', async () => {
    const r = await test(
      P,
      '--tool',
      'refund_order',
      ...asUser('support', 'billing'),
      '--args',
      '{"amount": 50, "currency": "EUR"}',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ ALLOW refund_order');
    expect(r.stdout).toContain('  role:   billing');
  });

  it('denies arguments core rejects (duplicate keys), as a host would', async () => {
    const r = await test(P, '--tool', 'refund_order', ...asUser('billing'), '--args', '{"amount": 1, "amount": 900}');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '  args:   {"amount": 1, "amount": 900}\n  user:   id kim, roles [billing]\n  role:   (none)\n',
    );
    expect(r.stdout).toContain('reason: invalid arguments: duplicate key');
  });

  it('prints one JSON object with --json', async () => {
    const r = await test(
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
      outcome: 'deny',
      tool: 'refund_order',
      args: { amount: 900, currency: 'USD' },
      decidingRole: 'billing',
      reason: 'constraint not satisfied: args.amount <= consts.max_refund',
      violations: ['args.amount <= consts.max_refund'],
      warnings: [],
    });
    expect(json.policyDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives decidingRole null (not a missing key) in JSON when no role decided', async () => {
    const r = await test(P, '--tool', 'x', '--args', '{"a": 1, "a": 2}', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'deny', decidingRole: null, args: null });
  });

  describe('usage and load errors (exit 2)', () => {
    const usage = (message: string) => `hexgate policy test: ${message}\nRun 'hexgate policy test --help' for usage.\n`;

    it('rejects bad JSON in --args', async () => {
      const r = await test(P, '--tool', 'refund_order', '--args', '{amount: 5}');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        usage(`--args is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`),
      );
      expect(r.stdout).toBe('');
    });

    it('rejects --ctx that is not a JSON object', async () => {
      const bad = await test(P, '--tool', 'refund_order', '--ctx', 'nope');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^hexgate policy test: --ctx is not valid JSON: /);
      const list = await test(P, '--tool', 'refund_order', '--ctx', '[1]');
      expect(list.code).toBe(2);
      expect(list.stderr).toBe(usage(`--ctx must be a JSON object, e.g. '{"region": "EU"}'`));
    });

    it('reports a missing policy file', async () => {
      const r = await test('nope.yaml', '--tool', 'x');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        'nope.yaml:1:1: no such policy file or directory\nhexgate policy test: cannot load the policy nope.yaml\n',
      );
    });

    it('reports every problem of a policy that does not load', async () => {
      const r = await run(['policy', 'test', 'errors/constraints.yaml', '--tool', 'refund']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('errors/constraints.yaml:7:27: invalid constraint');
      expect(r.stderr).toContain("errors/constraints.yaml:10:16: role 'support' inherits unknown role 'defualt'");
      expect(r.stderr).toContain('hexgate policy test: cannot load the policy errors/constraints.yaml\n');
    });

    it('reports a YAML syntax error in the policy', async () => {
      const r = await run(['policy', 'test', 'errors/syntax.yaml', '--tool', 'x'], { cwd: brokenPolicyDir() });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('errors/syntax.yaml:5:3: YAML syntax error: ');
    });

    it('needs one policy', async () => {
      expect((await test('--tool', 'x')).stderr).toBe(usage('missing <policy>: which policy file or directory?'));
      expect((await test(P, P, '--tool', 'x')).stderr).toBe(usage(`expected one <policy>, got 2: ${P} ${P}`));
    });

    it('needs --user-id with --role or --ctx (core denies a user without an id)', async () => {
      expect((await test(P, '--tool', 'x', '--role', 'billing')).stderr).toBe(
        usage('--role describes a user, who needs an id: add --user-id U'),
      );
      const ctx = await test(P, '--tool', 'x', '--ctx', '{"region": "EU"}');
      expect(ctx.code).toBe(2);
      expect(ctx.stderr).toBe(usage('--ctx describes a user, who needs an id: add --user-id U'));
    });

    it('needs a non-empty --tool', async () => {
      expect((await test(P, '--tool', '')).stderr).toBe(usage('missing --tool: which tool is called?'));
    });

    it('explains that a policy needs --tool to be tested', async () => {
      const r = await test(P);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        usage(`${P} is a policy, not a test file (no policy: or cases:); pass --tool T to decide one call`),
      );
    });

    it('rejects call options without --tool', async () => {
      const r = await test('support.tests.yaml', '--role', 'billing');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(usage('--role describes one call and needs --tool; test files set it per case'));
    });

    it('rejects a test file given with --tool', async () => {
      const r = await test('support.tests.yaml', '--tool', 'x');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        usage('support.tests.yaml is a test file (it has policy: and cases:); run it without --tool'),
      );
    });

    it('needs something to test', async () => {
      expect((await test()).stderr).toBe(usage('missing <tests.yaml> (or <policy> --tool T): what should be tested?'));
    });
  });

  it('has --help', async () => {
    const r = await test('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hexgate policy test <policy> --tool T [--role R ...]');
    expect(r.stdout).toContain('hexgate policy test <tests.yaml|glob>... [--json]');
    expect(r.stdout).toContain('Exit codes:');
  });

  it('resolves the policy path against the working directory', async () => {
    const r = await run(['policy', 'test', EXAMPLE_POLICY, '--tool', 'search_kb'], { cwd: tempFiles({}) });
    expect(r.code).toBe(0);
  });
});

describe('hexgate policy test <tests.yaml> (policy unit tests)', () => {
  const policy =
    'roles:\n  default:\n    tools:\n      search: { mode: allow }\n  billing:\n    tools:\n      refund:\n        mode: allow\n        constraints:\n          - args.amount <= 500\n';

  it('prints only "N passed, N failed" when every case passes; exit 0', async () => {
    const dir = tempFiles({
      'policy.yaml': policy,
      'ok.tests.yaml': `policy: ./policy.yaml
cases:
  - name: search is open
    tool: search
    expect: allow
  - name: billing refunds small amounts
    user: { id: alice, roles: [billing] }
    tool: refund
    args: '{"amount": 200}'
    expect: allow
  - name: billing refunds are capped
    user: { id: kim, roles: [billing] }
    tool: refund
    args: { amount: 900 }
    expect: deny
    violations: ["args.amount <= 500"]
`,
    });
    const r = await run(['policy', 'test', 'ok.tests.yaml'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('3 passed, 0 failed\n');
    expect(r.stderr).toBe('');
  });

  it('prints one line per failing case with expected vs actual and the reason; exit 1', async () => {
    const dir = tempFiles({
      'policy.yaml': policy,
      'failing.tests.yaml': `policy: ./policy.yaml
cases:
  - name: wrong outcome
    tool: search
    expect: deny
  - name: wrong violations
    user: { id: b, roles: [billing] }
    tool: refund
    args: { amount: 900 }
    expect: deny
    violations: ["args.amount <= 100"]
  - name: ok
    tool: search
    expect: allow
`,
    });
    const r = await run(['policy', 'test', 'failing.tests.yaml'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        "✗ failing.tests.yaml:3:5 wrong outcome: expected deny, got allow (allowed for role 'default')",
        '✗ failing.tests.yaml:6:5 wrong violations: expected violations ["args.amount <= 100"], got ["args.amount <= 500"] (deny: constraint not satisfied: args.amount <= 500)',
        '1 passed, 2 failed',
        '',
      ].join('\n'),
    );
  });

  it('warns with the case position when a case uses an unknown role', async () => {
    const dir = tempFiles({
      'policy.yaml': policy,
      't.tests.yaml':
        'policy: policy.yaml\ncases:\n  - { name: x, user: { id: u, roles: [biling] }, tool: refund, expect: deny }\n',
    });
    const r = await run(['policy', 'test', 't.tests.yaml'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      "t.tests.yaml:3:5: warning: role 'biling' is not defined in the policy; it falls back to 'default' (did you mean 'billing'?)\n",
    );
  });

  describe('an invalid test file is an error with file:line:col, never a pass', () => {
    const invalid = async (text: string) => {
      const dir = tempFiles({ 'policy.yaml': policy, 'bad.tests.yaml': text });
      return run(['policy', 'test', 'bad.tests.yaml'], { cwd: dir });
    };

    it('reports unknown keys, missing fields, bad expect values and bad types, all at once', async () => {
      const r = await invalid(`policy: ./policy.yaml
cases:
  - name: typo key
    tool: search
    expct: allow
  - name: missing tool
    expect: deny
  - name: bad expect
    tool: search
    expect: alow
  - name: bad user
    user: { id: 1, role: [x] }
    tool: search
    expect: allow
  - name: bad args
    tool: search
    args: [1, 2]
    expect: allow
`);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        [
          "bad.tests.yaml:3:5: missing field 'expect' in cases[0]",
          "bad.tests.yaml:5:5: unknown key 'expct' in cases[0] (did you mean 'expect'?)",
          "bad.tests.yaml:6:5: missing field 'tool' in cases[1]",
          "bad.tests.yaml:10:13: invalid expect 'alow' in cases[2]: use one of allow, deny, approval_required (did you mean 'allow'?)",
          'bad.tests.yaml:12:17: invalid value at cases[3].user.id: expected a string, got number 1',
          "bad.tests.yaml:12:20: unknown key 'role' in cases[3].user (did you mean 'roles'?)",
          'bad.tests.yaml:17:11: invalid value at cases[4].args: expected a mapping or a JSON string, got a list',
          '✗ bad.tests.yaml: invalid test file',
          '0 passed, 1 failed',
          '',
        ].join('\n'),
      );
    });

    it('reports a case user without an id (core denies such a user)', async () => {
      const r = await invalid(
        'policy: ./policy.yaml\ncases:\n  - { name: x, user: { roles: [billing] }, tool: refund, expect: deny }\n',
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("bad.tests.yaml:3:22: missing field 'id' in cases[0].user\n");
    });

    it('reports an unknown top-level key', async () => {
      const r = await invalid('policy: ./policy.yaml\ncase:\n  - { name: x, tool: search, expect: allow }\n');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("bad.tests.yaml:1:1: missing field 'cases' in the top level\n");
      expect(r.stdout).toContain("bad.tests.yaml:2:1: unknown key 'case' in the top level (did you mean 'cases'?)\n");
    });

    it('reports a YAML syntax error', async () => {
      const r = await invalid('policy: ./policy.yaml\ncases:\n  - { name: x, tool: t, expect: deny\n');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        'bad.tests.yaml:4:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }\n' +
          '✗ bad.tests.yaml: invalid test file\n0 passed, 1 failed\n',
      );
    });

    it('reports a duplicate key', async () => {
      const r = await invalid(
        'policy: ./policy.yaml\ncases:\n  - name: x\n    tool: search\n    expect: deny\n    expect: allow\n',
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^bad\.tests\.yaml:6:5: duplicate key: /);
    });

    it('reports args that are not valid JSON', async () => {
      const r = await invalid(
        `policy: ./policy.yaml\ncases:\n  - name: x\n    tool: search\n    args: '{"a": }'\n    expect: allow\n`,
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `bad.tests.yaml:5:11: cases[0].args is not valid JSON: Unexpected token '}', "{"a": }" is not valid JSON\n`,
      );
    });

    it('reports an empty case name', async () => {
      const r = await invalid("policy: ./policy.yaml\ncases:\n  - { name: '', tool: search, expect: allow }\n");
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('bad.tests.yaml:3:13: cases[0].name must not be empty\n');
    });

    it('reports an alias bomb instead of expanding it', async () => {
      const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 6; i++)
        bomb.push(
          `${'abcdef'[i]}: &${'abcdef'[i]} [*${'abcdef'[i - 1]}, *${'abcdef'[i - 1]}, *${'abcdef'[i - 1]}, *${'abcdef'[i - 1]}, *${'abcdef'[i - 1]}]`,
        );
      const r = await invalid(
        `${bomb.join('\n')}\npolicy: ./policy.yaml\ncases: [{ name: x, tool: search, expect: allow }]\n`,
      );
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^bad\.tests\.yaml:1:1: cannot expand YAML aliases: /);
    });

    it('reports an empty case list', async () => {
      const r = await invalid('policy: ./policy.yaml\ncases: []\n');
      expect(r.stdout).toContain('bad.tests.yaml:2:8: cases is empty: add at least one case\n');
      expect(r.code).toBe(1);
    });

    it('reports a test file that is not a mapping', async () => {
      const r = await invalid('- policy: x\n');
      // A list is neither a policy nor a test file: it is read as a test file and rejected.
      expect(r.stdout).toContain('bad.tests.yaml:1:1: a test file is a mapping with policy: and cases:\n');
      expect(r.code).toBe(1);
    });

    it('reports a policy that does not load', async () => {
      const r = await invalid('policy: ./missing.yaml\ncases:\n  - { name: x, tool: t, expect: deny }\n');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        'missing.yaml:1:1: no such policy file or directory\n' +
          '✗ bad.tests.yaml: cannot load the policy missing.yaml\n0 passed, 1 failed\n',
      );
    });
  });

  it('runs several files given by a glob (fs.globSync) and sums the results', async () => {
    const dir = tempFiles({
      'policy.yaml': policy,
      'a.tests.yaml': 'policy: policy.yaml\ncases:\n  - { name: a, tool: search, expect: allow }\n',
      'b.tests.yaml': 'policy: policy.yaml\ncases:\n  - { name: b, tool: refund, expect: allow }\n',
    });
    const r = await run(['policy', 'test', '*.tests.yaml'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      "✗ b.tests.yaml:3:5 b: expected allow, got deny (tool 'refund' is not allowed for role 'default' (default policy))\n1 passed, 1 failed\n",
    );
  });

  it('runs several files named one by one', async () => {
    const dir = tempFiles({
      'policy.yaml': policy,
      'a.tests.yaml': 'policy: policy.yaml\ncases:\n  - { name: a, tool: search, expect: allow }\n',
      'b.tests.yaml': 'policy: policy.yaml\ncases:\n  - { name: b, tool: refund, expect: deny }\n',
    });
    const r = await run(['policy', 'test', 'a.tests.yaml', 'b.tests.yaml'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2 passed, 0 failed\n');
  });

  it('is a usage error to give a directory where test files are expected', async () => {
    const dir = tempFiles({});
    mkdirSync(join(dir, 'policies'));
    const r = await run(['policy', 'test', 'policies'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "hexgate policy test: policies is a directory: pass --tool T to decide one call against a policy directory, or give test files\nRun 'hexgate policy test --help' for usage.\n",
    );
  });

  it('is a usage error when a glob matches nothing or a file is missing', async () => {
    const dir = tempFiles({});
    const glob = await run(['policy', 'test', '*.tests.yaml'], { cwd: dir });
    expect(glob.code).toBe(2);
    expect(glob.stderr).toBe(
      "hexgate policy test: no files match *.tests.yaml\nRun 'hexgate policy test --help' for usage.\n",
    );
    const missing = await run(['policy', 'test', 'x.tests.yaml'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      "hexgate policy test: no such file: x.tests.yaml\nRun 'hexgate policy test --help' for usage.\n",
    );
  });

  it('prints { cases, passed, failed } with --json', async () => {
    const dir = tempFiles({
      'policy.yaml': policy,
      't.tests.yaml': `policy: policy.yaml
cases:
  - { name: capped, user: { id: kim, roles: [billing] }, tool: refund, args: { amount: 900 }, expect: deny, violations: ["args.amount <= 500"] }
  - { name: wrong, tool: search, expect: approval_required }
`,
    });
    const r = await run(['policy', 'test', 't.tests.yaml', '--json'], { cwd: dir, isTTY: true });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      cases: [
        {
          file: 't.tests.yaml',
          name: 'capped',
          expect: 'deny',
          outcome: 'deny',
          pass: true,
          reason: 'constraint not satisfied: args.amount <= 500',
          violations: ['args.amount <= 500'],
          expectedViolations: ['args.amount <= 500'],
        },
        {
          file: 't.tests.yaml',
          name: 'wrong',
          expect: 'approval_required',
          outcome: 'allow',
          pass: false,
          reason: "allowed for role 'default'",
          violations: [],
        },
      ],
      passed: 1,
      failed: 1,
      errors: [],
    });
  });

  it('lists an invalid file under errors in --json', async () => {
    const dir = tempFiles({ 't.tests.yaml': 'policy: p.yaml\ncases:\n  - { name: x, tool: t }\n' });
    const r = await run(['policy', 'test', 't.tests.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      cases: [],
      passed: 0,
      failed: 1,
      errors: [{ file: 't.tests.yaml', line: 3, column: 5, message: "missing field 'expect' in cases[0]" }],
    });
  });
});

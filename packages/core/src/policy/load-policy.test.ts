import { execFileSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createEnforcer,
  describePolicy,
  loadPolicy,
  loadPolicySync,
  type Policy,
  PolicyLoadError,
  parsePolicy,
  readPolicyFiles,
} from '../index.ts';

const fixtures = join(import.meta.dirname, '..', '__fixtures__');

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(PolicyLoadError.isInstance(e)).toBe(true);
    return (e as PolicyLoadError).issues;
  }
  throw new Error('expected a PolicyLoadError');
}

function outcome(policy: Policy, tool: string, args: unknown, roles?: string[]) {
  return createEnforcer({ policy }).decide({ tool, args, user: { id: 'u', ...(roles ? { roles } : {}) } }).decision;
}

describe('policy shapes', () => {
  it('a flat file is one role named default', () => {
    const p = parsePolicy('tools:\n  ping: { mode: allow }\n');
    expect(p.roleNames).toEqual(['default']);
    expect(outcome(p, 'ping', {}).outcome).toBe('allow');
    expect(outcome(p, 'other', {}).outcome).toBe('deny');
  });

  it('roles: {...} defines several roles in one file', () => {
    const p = parsePolicy(
      'roles:\n  a: { tools: { x: { mode: allow } } }\n  b: { tools: { y: { mode: approval_required } } }\n',
    );
    expect(p.roleNames.sort()).toEqual(['a', 'b']);
    expect(outcome(p, 'x', {}, ['a']).outcome).toBe('allow');
    expect(outcome(p, 'y', {}, ['b']).outcome).toBe('approval_required');
  });

  it('a directory holds one role per *.yaml file, named by its stem', async () => {
    const dir = join(fixtures, 'policy-dir');
    for (const p of [await loadPolicy(dir), loadPolicySync(dir)]) {
      expect(p.roleNames.sort()).toEqual(['billing', 'default']);
      expect(outcome(p, 'get_order', {}).outcome).toBe('allow');
      expect(outcome(p, 'refund_order', { amount: 100 }, ['billing']).outcome).toBe('allow');
      expect(outcome(p, 'refund_order', { amount: 100 }).outcome).toBe('deny');
    }
  });

  it('the digest depends on meaning, not formatting', () => {
    const a = parsePolicy('tools:\n  x: { mode: allow, constraints: ["args.a == 1"] }\n');
    const b = parsePolicy('# comment\ntools:\n  x:\n    constraints:\n      - "args.a == 1"\n    mode: allow\n');
    const c = parsePolicy('tools:\n  x: { mode: allow, constraints: ["args.a == 2"] }\n');
    expect(a.digest).toBe(b.digest);
    expect(a.digest).not.toBe(c.digest);
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('strict loading: every problem is an error with file, line, column and a hint', () => {
  it('unknown and misspelled keys', () => {
    const issues = issuesOf(() =>
      parsePolicy('tools:\n  x:\n    mode: allow\n    constraint: ["args.a == 1"]\ndefualt_policy: { mode: allow }\n', {
        filename: 'p.yaml',
      }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          file: 'p.yaml',
          line: 4,
          column: 5,
          message: "unknown key 'constraint' in tools.x",
          hint: "did you mean 'constraints'?",
        }),
        expect.objectContaining({ line: 5, column: 1, hint: "did you mean 'default_policy'?" }),
      ]),
    );
  });

  it('wrong types, unknown modes and versions', () => {
    const issues = issuesOf(() =>
      parsePolicy('version: 2\ninherits: reader\nis_mixin: "yes"\ntools:\n  x: { mode: alow }\n'),
    );
    const messages = issues.map((i) => `${i.line}:${i.column} ${i.message} | ${i.hint ?? ''}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        '1:10 unsupported version 2 | use version: 1',
        '2:11 invalid value at inherits: expected a list, got string "reader" | ',
        expect.stringMatching(/^3:11 invalid value at is_mixin: expected a boolean/),
        "5:14 unknown mode 'alow' in tools.x.mode | did you mean 'allow'?",
      ]),
    );
  });

  it('unparsable constraints point into the constraint text', () => {
    const issues = issuesOf(() =>
      parsePolicy('tools:\n  x:\n    mode: allow\n    constraints:\n      - args.currency == USD\n'),
    );
    expect(issues[0]).toMatchObject({ line: 5, column: 26, hint: expect.stringContaining('did you forget quotes?') });
    for (const bad of [
      'args.a = 1',
      "args.a == 'x'",
      'args.a >',
      'foo(args.a)',
      'args.a && args.b',
      'count(args.a)',
      '. == 1',
      'args.a in 5',
      'user.name == "x"',
    ]) {
      expect(() => parsePolicy(`tools:\n  x: { mode: allow, constraints: [${JSON.stringify(bad)}] }\n`), bad).toThrow(
        PolicyLoadError,
      );
    }
  });

  it('undefined consts, non-list consts after in, and regexes the linear engine cannot run', () => {
    const issues = issuesOf(() =>
      parsePolicy(
        'consts: { max: 5 }\ntools:\n  x:\n    mode: allow\n    constraints:\n      - args.a <= consts.maxx\n      - args.a in consts.max\n      - matches(args.s, "(a)\\\\1")\n',
      ),
    );
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining('undefined constant consts.maxx'),
      expect.stringContaining('consts.max is not a list'),
      expect.stringContaining('not supported by the linear-time engine'),
    ]);
    expect(issues[0]?.line).toBe(6);
  });

  it('unknown and cyclic inherits', () => {
    const unknown = issuesOf(() => parsePolicy('roles:\n  a: { inherits: [bil\u006cing] }\n  billng: {}\n'));
    expect(unknown[0]).toMatchObject({
      line: 2,
      message: "role 'a' inherits unknown role 'billing'",
      hint: "did you mean 'billng'?",
    });
    const cyclic = issuesOf(() =>
      parsePolicy('roles:\n  a: { inherits: [b] }\n  b: { inherits: [c] }\n  c: { inherits: [a] }\n'),
    );
    expect(cyclic).toHaveLength(1);
    expect(cyclic[0]?.message).toMatch(/^inheritance cycle: a -> b -> c -> a/);
  });

  it('duplicate keys, syntax errors, alias bombs and empty files', () => {
    expect(issuesOf(() => parsePolicy('tools:\n  x: { mode: allow }\n  x: { mode: deny }\n'))[0]).toMatchObject({
      line: 3,
      column: 3,
      message: "duplicate key 'x'",
    });
    expect(issuesOf(() => parsePolicy('tools: [\n'))[0]?.message).toMatch(/^YAML syntax error/);
    expect(issuesOf(() => parsePolicy('tools:\n  x: { mode: allow\n  y: 1\n'))[0]).toMatchObject({
      line: 3,
      column: 3,
      message: expect.stringMatching(/^YAML syntax error/),
    });
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(',')}]`,
      );
    expect(issuesOf(() => parsePolicy(`consts:\n${bomb.map((l) => `  ${l}`).join('\n')}\n`))[0]?.message).toMatch(
      /alias/,
    );
    expect(issuesOf(() => parsePolicy(''))[0]?.message).toBe('the policy file is empty');
    expect(issuesOf(() => parsePolicy('- a\n- b\n'))[0]?.message).toMatch(/expected a mapping/);
  });

  it('reports every problem at once, not only the first', () => {
    const issues = issuesOf(() => parsePolicy('tools:\n  x: { mode: nope }\n  y: { mdoe: allow }\nextra: 1\n'));
    expect(issues.length).toBeGreaterThanOrEqual(3);
    expect(new PolicyLoadError(issues).message).toMatch(/and \d more/);
  });

  it('missing files and .yml files in a policy directory', async () => {
    await expect(loadPolicy('/nonexistent/policy.yaml')).rejects.toMatchObject({
      issues: [expect.objectContaining({ message: 'no such policy file or directory' })],
    });
    const dir = mkdtempSync(join(tmpdir(), 'hexgate-'));
    writeFileSync(join(dir, 'default.yaml'), 'tools: {}\n');
    writeFileSync(join(dir, 'admin.yml'), 'tools: {}\n');
    expect(issuesOf(() => loadPolicySync(dir))[0]).toMatchObject({ hint: 'rename it to admin.yaml' });
    const empty = mkdtempSync(join(tmpdir(), 'hexgate-'));
    expect(issuesOf(() => loadPolicySync(empty))[0]?.message).toMatch(/no \*\.yaml files/);
    const withRoles = mkdtempSync(join(tmpdir(), 'hexgate-'));
    writeFileSync(join(withRoles, 'default.yaml'), 'roles: {}\n');
    expect(issuesOf(() => loadPolicySync(withRoles))[0]?.hint).toMatch(/each file is one role/);
  });
});

describe('inheritance', () => {
  const p = parsePolicy(
    `
roles:
  base:
    is_mixin: true
    consts: { max: 10, who: "base" }
    default_policy: { mode: approval_required }
    tools:
      a: { mode: allow, constraints: ["args.n <= consts.max"] }
      b: { mode: allow }
  strict:
    is_mixin: true
    default_policy: { mode: deny }
    tools:
      b: { mode: deny }
  child:
    inherits: [base]
    consts: { max: 3 }
    tools:
      c: { mode: allow, constraints: ["args.n == 1"] }
  both:
    inherits: [base, strict]
  reverse:
    inherits: [strict, base]
  own_default:
    inherits: [base]
    default_policy: { mode: allow }
`.trimStart(),
  );

  it('later entries replace earlier ones per tool, whole entry', () => {
    expect(outcome(p, 'b', {}, ['both']).outcome).toBe('deny');
    expect(outcome(p, 'b', {}, ['reverse']).outcome).toBe('allow');
  });

  it("consts merge, and the effective role's value is used in inherited constraints", () => {
    expect(outcome(p, 'a', { n: 5 }, ['child']).outcome).toBe('deny');
    expect(outcome(p, 'a', { n: 3 }, ['child']).outcome).toBe('allow');
  });

  it('default_policy comes from the last parent unless the role sets it', () => {
    expect(outcome(p, 'zzz', {}, ['child']).outcome).toBe('approval_required');
    expect(outcome(p, 'zzz', {}, ['both']).outcome).toBe('deny');
    expect(outcome(p, 'zzz', {}, ['reverse']).outcome).toBe('approval_required');
    expect(outcome(p, 'zzz', {}, ['own_default']).outcome).toBe('allow');
  });

  it('a mixin can only be inherited, never selected', () => {
    expect(p.roleNames).not.toContain('base');
    const d = outcome(p, 'b', {}, ['base']);
    expect(d.outcome).toBe('deny');
    expect(d.decidingRole).toBe('default');
  });
});

describe('YAML keys: what the document says is what gets loaded', () => {
  it('a key written as an alias (`*k :`) is a load error, so it cannot repeat a key unnoticed', () => {
    const issues = issuesOf(() => parsePolicy('tools:\n  &k wire: {mode: deny}\n  *k : {mode: allow}\n'));
    expect(issues[0]).toMatchObject({ line: 3, column: 3, message: expect.stringContaining('alias') });
    expect(issues[0]?.hint).toBeTruthy();
  });

  it('a list or mapping used as a key is a load error', () => {
    expect(issuesOf(() => parsePolicy('consts:\n  ? [a]\n  : 1\n'))[0]).toMatchObject({
      line: 2,
      column: 5,
      message: expect.stringContaining('key'),
    });
    expect(issuesOf(() => parsePolicy('consts:\n  {a: 1}: 1\n'))[0]).toMatchObject({ line: 2, column: 3 });
  });

  it('keys that are the same once loaded are duplicates: `~`, `null`, an empty key and ""; 1 and "1"', () => {
    expect(issuesOf(() => parsePolicy('consts:\n  ~: 1\n  "": 2\n'))[0]).toMatchObject({
      line: 3,
      column: 3,
      message: "duplicate key ''",
    });
    expect(issuesOf(() => parsePolicy('consts:\n  null: 1\n  ~: 2\n'))[0]).toMatchObject({ line: 3 });
    expect(issuesOf(() => parsePolicy('consts:\n  "": 1\n  : 2\n'))[0]).toMatchObject({ line: 3 });
    expect(issuesOf(() => parsePolicy('consts:\n  1: a\n  "1": b\n'))[0]).toMatchObject({ line: 3 });
    // Distinct keys stay distinct.
    expect(() => parsePolicy('consts:\n  ~: 1\n  "null": 2\n  1: 3\n  "1.5": 4\n')).not.toThrow();
  });
});

describe('YAML tags and directives: nothing is silently ignored', () => {
  it('an unknown tag is a positioned load error, not a warning that loads the plain value', () => {
    for (const [text, column] of [
      ['tools:\n  wire: {mode: !!js/function "allow"}\n', 16],
      ['tools:\n  wire: {mode: !deny allow}\n', 16],
    ] as const) {
      const issues = issuesOf(() => parsePolicy(text));
      expect(issues[0], text).toMatchObject({ line: 2, column, message: expect.stringMatching(/tag/i) });
      expect(issues[0]?.hint, text).toBeTruthy();
    }
  });

  it('tags that do not give JSON data (binary, set, timestamp, omap, pairs) are load errors too', () => {
    for (const value of ['!!binary aGk=', '!!set {a}', '!!timestamp 2024-01-01', '!!omap [a: 1]', '!!pairs [a: 1]']) {
      const issues = issuesOf(() => parsePolicy(`consts:\n  x: ${value}\n`));
      expect(issues[0], value).toMatchObject({ line: 2, column: 6, message: expect.stringContaining('tag') });
    }
  });

  it('the JSON tags of the core schema still work', () => {
    const p = parsePolicy(
      'consts: {n: !!int "5"}\ntools:\n  t: {mode: !!str allow, constraints: ["args.n == consts.n"]}\n',
    );
    expect(outcome(p, 't', { n: 5 }).outcome).toBe('allow');
  });

  it('an unknown directive is a load error', () => {
    expect(issuesOf(() => parsePolicy('%FOO bar\n---\ntools: {}\n'))[0]).toMatchObject({ line: 1, column: 1 });
  });
});

describe('__proto__ and constructor keys are data', () => {
  it('a constant keeps its nested __proto__ keys, so a deny-list matches exactly the listed payload', () => {
    const p = parsePolicy(
      'consts:\n  blocked: [{__proto__: {isAdmin: true}}, {constructor: 1}]\ntools:\n  s: {mode: allow, constraints: ["args.patch not in consts.blocked"]}\n',
    );
    const e = createEnforcer({ policy: p });
    const decide = (args: string) => e.decide({ tool: 's', args }).decision.outcome;
    expect(decide('{"patch": {"__proto__": {"isAdmin": true}}}')).toBe('deny');
    expect(decide('{"patch": {"constructor": 1}}')).toBe('deny');
    // Dropping the key would have blocked `{}` instead.
    expect(decide('{"patch": {}}')).toBe('allow');
    expect(decide('{"patch": {"__proto__": {"isAdmin": false}}}')).toBe('allow');
    const consts = describePolicy(p).roles[0]?.consts as Record<string, unknown>;
    const [first] = consts.blocked as object[];
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(Object.keys(first as object)).toEqual(['__proto__']);
  });

  it('a constant named __proto__ is a constant like any other', () => {
    const p = parsePolicy(
      'consts:\n  __proto__: ["a"]\ntools:\n  t: {mode: allow, constraints: ["args.x in consts.__proto__"]}\n',
    );
    expect(outcome(p, 't', { x: 'a' }).outcome).toBe('allow');
    expect(outcome(p, 't', { x: 'b' }).outcome).toBe('deny');
  });

  it('values under a __proto__ key are validated like any other', () => {
    expect(issuesOf(() => parsePolicy('consts:\n  a: {__proto__: .inf}\n'))[0]).toMatchObject({
      line: 2,
      column: 18,
      message: expect.stringContaining('consts.a.__proto__'),
    });
    expect(issuesOf(() => parsePolicy('tools:\n  __proto__: {mdoe: allow}\n'))[0]).toMatchObject({
      line: 2,
      column: 15,
      message: "unknown key 'mdoe' in tools.__proto__",
    });
  });

  it('a tool named __proto__ is a tool like any other', () => {
    const p = parsePolicy(
      'default_policy: {mode: allow}\ntools:\n  __proto__: {mode: deny}\n  constructor: {mode: approval_required}\n',
    );
    expect(outcome(p, '__proto__', {}).outcome).toBe('deny');
    expect(outcome(p, 'constructor', {}).outcome).toBe('approval_required');
    expect(p.toolNames).toEqual(['__proto__', 'constructor']);
    expect(createEnforcer({ policy: p }).couldCall('__proto__')).toBe(false);
  });

  it('a role named __proto__ is a role like any other, in one file and in a directory, and in the digest', () => {
    const text = (mode: string) => `roles:\n  default: {}\n  __proto__:\n    tools: {x: {mode: ${mode}}}\n`;
    const p = parsePolicy(text('allow'));
    expect(p.roleNames.sort()).toEqual(['__proto__', 'default']);
    expect(outcome(p, 'x', {}, ['__proto__']).outcome).toBe('allow');
    expect(outcome(p, 'x', {}).outcome).toBe('deny');
    expect(parsePolicy(text('deny')).digest).not.toBe(p.digest);
    const dir = mkdtempSync(join(tmpdir(), 'hexgate-'));
    writeFileSync(join(dir, 'default.yaml'), 'tools: {}\n');
    writeFileSync(join(dir, '__proto__.yaml'), 'tools: {x: {mode: allow}}\n');
    const fromDir = loadPolicySync(dir);
    expect(outcome(fromDir, 'x', {}, ['__proto__']).outcome).toBe('allow');
    writeFileSync(join(dir, '__proto__.yaml'), 'tools: {x: {mode: deny}}\n');
    expect(loadPolicySync(dir).digest).not.toBe(fromDir.digest);
  });

  it('the digest sees nested __proto__ keys of constants', () => {
    const a = parsePolicy('consts: {c: {__proto__: {x: 1}}}\ntools: {}\n');
    const b = parsePolicy('consts: {c: {__proto__: {x: 2}}}\ntools: {}\n');
    expect(a.digest).not.toBe(b.digest);
  });

  it('constants are frozen: describePolicy cannot be used to change what a loaded policy decides', () => {
    const p = parsePolicy(
      'consts:\n  ok: [{a: [1]}]\ntools:\n  t: {mode: allow, constraints: ["args.v in consts.ok"]}\n',
    );
    const ok = describePolicy(p).roles[0]?.consts.ok as { a: number[] }[];
    expect(Object.isFrozen(ok)).toBe(true);
    expect(Object.isFrozen(ok[0])).toBe(true);
    expect(Object.isFrozen(ok[0]?.a)).toBe(true);
  });
});

describe('deep YAML', () => {
  it('a deeply nested document is a load error, never a RangeError', () => {
    const n = 5000;
    const block = `consts:\n  a:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(4 + i)}-`).join('\n')} 1\n`;
    const flow = `consts:\n  a: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    for (const text of [block, flow]) expect(issuesOf(() => parsePolicy(text)).length).toBeGreaterThan(0);
  });

  it('nesting beyond the cap is a positioned load error; within it, constants load', () => {
    const nested = (n: number) => `consts:\n  a: ${'['.repeat(n)}1${']'.repeat(n)}\n`;
    expect(() => parsePolicy(nested(60))).not.toThrow();
    expect(issuesOf(() => parsePolicy(nested(100)))[0]).toMatchObject({
      line: 2,
      message: expect.stringContaining('nested more than'),
    });
  });
});

describe('policy files that are not ordinary files', () => {
  it('a FIFO in place of a policy file (or role file) is a load error, never a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hexgate-fifo-'));
    const fifo = join(dir, 'policy.yaml');
    execFileSync('mkfifo', [fifo]);
    await expect(loadPolicy(fifo)).rejects.toThrow(/not a regular file/);
    expect(() => loadPolicySync(fifo)).toThrow(/not a regular file/);
    await expect(readPolicyFiles(dir)).rejects.toThrow(/not a regular file/);
  });

  it('a file larger than any policy is refused without being read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hexgate-huge-'));
    const huge = join(dir, 'policy.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 64 * 1024 * 1024); // sparse: no disk or memory spent
    await expect(loadPolicy(huge)).rejects.toThrow(/larger than 16777216 bytes/);
    expect(() => loadPolicySync(huge)).toThrow(/larger than 16777216 bytes/);
  });
});

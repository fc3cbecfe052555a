/**
 * The policy unit test file format, validated with zod (strict objects:
 * an unknown key, a missing field or a bad `expect` is an error with its
 * position, never a silently passing case).
 *
 *   policy: ./policy.yaml        # relative to the test file
 *   cases:
 *     - name: ...
 *       user: { id, roles?, attributes? } # optional; none = the default role; id required (core's rule)
 *       tool: refund_order
 *       args: { amount: 200 }             # or a JSON string
 *       expect: allow | deny | approval_required
 *       violations: ["args.amount <= 500"] # optional, exact (order aside)
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { didYouMean } from '@hexgate/core';
import { parse } from 'yaml';
import { z } from 'zod';
import { type Problem, readYamlSource, type YamlSource } from './yaml-source.ts';

export const EXPECTS = ['allow', 'deny', 'approval_required'] as const;
export type Expect = (typeof EXPECTS)[number];

const userSchema = z.strictObject({
  // Required: core denies a user without an id, so a case without one could only ever test that.
  id: z.string(),
  roles: z.array(z.string()).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
  sessionId: z.string().optional(),
});

const caseSchema = z.strictObject({
  name: z.string().min(1),
  user: userSchema.optional(),
  tool: z.string().min(1),
  args: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  expect: z.enum(EXPECTS),
  violations: z.array(z.string()).optional(),
});

const fileSchema = z.strictObject({
  policy: z.string().min(1),
  cases: z.array(caseSchema).min(1),
});

export interface TestCase {
  readonly name: string;
  readonly user: z.infer<typeof userSchema> | undefined;
  readonly tool: string;
  /** An object, or the JSON string as written (core parses it strictly, like a host's). */
  readonly args: Record<string, unknown> | string;
  readonly expect: Expect;
  readonly violations: readonly string[] | undefined;
  readonly line: number;
  readonly column: number;
}

export interface TestFile {
  readonly file: string;
  /** Absolute path of the policy, resolved against the test file's directory. */
  readonly policyPath: string;
  readonly policy: string;
  readonly cases: readonly TestCase[];
}

export type TestFileRead = { ok: true; testFile: TestFile } | { ok: false; problems: Problem[] };

export type FileKind = 'test-file' | 'policy' | 'unreadable';

/**
 * What a file is, by its content: a test file's top level is a mapping with
 * `policy:` or `cases:` (keys a policy can never have); any other mapping is
 * taken for a policy; a file that cannot be read or parsed is 'unreadable'.
 */
export async function sniffTestFile(absPath: string): Promise<FileKind> {
  let value: unknown;
  try {
    value = parse(await readFile(absPath, 'utf8'), { prettyErrors: false });
  } catch {
    return 'unreadable';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'unreadable';
  return Object.hasOwn(value, 'policy') || Object.hasOwn(value, 'cases') ? 'test-file' : 'policy';
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || 'the top level';
}

/** The keys allowed where an unknown key was found (for hints), read off the schemas so they cannot drift. */
function keysFor(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return Object.keys(fileSchema.shape);
  if (path.length === 2) return Object.keys(caseSchema.shape);
  return Object.keys(userSchema.shape);
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function toProblems(source: YamlSource, issues: readonly z.core.$ZodIssue[]): Problem[] {
  const problems: Problem[] = [];
  const push = (path: readonly PropertyKey[], message: string, hint?: string, key?: string) =>
    problems.push({
      file: source.file,
      ...source.locate(path as (string | number)[], key),
      message,
      ...(hint ? { hint } : {}),
    });
  for (const issue of issues) {
    const path = issue.path;
    const actual = valueAt(source.value, path);
    const where = pathText(path);
    if (issue.code === 'unrecognized_keys') {
      const known = keysFor(path);
      for (const key of issue.keys)
        push(
          path,
          `unknown key '${key}' in ${where}`,
          didYouMean(key, known) ?? `allowed keys: ${known.join(', ')}`,
          key,
        );
      continue;
    }
    const last = path[path.length - 1];
    if (actual === undefined && path.length > 0) {
      push(path.slice(0, -1), `missing field '${String(last)}' in ${pathText(path.slice(0, -1))}`);
      continue;
    }
    if (last === 'expect') {
      const hint = typeof actual === 'string' ? didYouMean(actual, EXPECTS) : undefined;
      const shown = typeof actual === 'string' ? `'${actual}'` : kindOf(actual);
      push(path, `invalid expect ${shown} in ${pathText(path.slice(0, -1))}: use one of ${EXPECTS.join(', ')}`, hint);
      continue;
    }
    if (issue.code === 'too_small') {
      push(path, Array.isArray(actual) ? `${where} is empty: add at least one case` : `${where} must not be empty`);
      continue;
    }
    if (last === 'args') {
      push(path, `invalid value at ${where}: expected a mapping or a JSON string, got ${kindOf(actual)}`);
      continue;
    }
    if (issue.code === 'invalid_type') {
      const expected =
        issue.expected === 'object' || issue.expected === 'record'
          ? 'a mapping'
          : issue.expected === 'array'
            ? 'a list'
            : `a ${issue.expected}`;
      push(path, `invalid value at ${where}: expected ${expected}, got ${kindOf(actual)}`);
      continue;
    }
    push(path, `invalid value at ${where}: ${issue.message}`);
  }
  return problems;
}

/** Reads and validates one test file; every problem is returned with its position. */
export async function readTestFile(absPath: string, display: string): Promise<TestFileRead> {
  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (e) {
    // The runner checked the file exists and is not a directory; this is a race or a permission problem.
    return {
      ok: false,
      problems: [{ file: display, line: 1, column: 1, message: `cannot read the test file: ${(e as Error).message}` }],
    };
  }
  const read = readYamlSource(display, text);
  if (!read.ok) return read;
  const { source } = read;
  if (typeof source.value !== 'object' || source.value === null || Array.isArray(source.value)) {
    return {
      ok: false,
      problems: [{ file: display, ...source.locate([]), message: 'a test file is a mapping with policy: and cases:' }],
    };
  }
  const parsed = fileSchema.safeParse(source.value);
  if (!parsed.success) {
    const problems = toProblems(source, parsed.error.issues).sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, problems };
  }

  const problems: Problem[] = [];
  const cases = parsed.data.cases.map((c, i): TestCase => {
    if (typeof c.args === 'string') {
      try {
        JSON.parse(c.args);
      } catch (e) {
        problems.push({
          file: display,
          ...source.locate(['cases', i, 'args']),
          message: `cases[${i}].args is not valid JSON: ${(e as Error).message}`,
        });
      }
    }
    return {
      name: c.name,
      user: c.user,
      tool: c.tool,
      args: c.args ?? {},
      expect: c.expect,
      violations: c.violations,
      ...source.locate(['cases', i]),
    };
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    testFile: {
      file: display,
      policy: parsed.data.policy,
      policyPath: resolve(dirname(absPath), parsed.data.policy),
      cases,
    },
  };
}

/**
 * Loads a policy from YAML: a flat file (one role, `default`), a file with
 * `roles: {name: ...}`, or a directory of `*.yaml` files (one role per file,
 * the stem is the role name). Every problem is collected and reported with
 * file, line, column and a hint; any problem fails the whole load.
 */
import { readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { z } from 'zod';
import { type PolicyIssue, PolicyLoadError } from '../errors.ts';
import { compileRoles, type RoleSource } from './compile-roles.ts';
import type { Policy } from './policy.ts';
import {
  ENTRY_KEYS,
  MODES,
  multiRoleSchema,
  type RawRolePolicy,
  ROLE_KEYS,
  rolePolicySchema,
} from './policy-schema.ts';
import { readPolicyFile, readPolicyFileSync } from './read-policy-file.ts';
import { didYouMean } from './suggest.ts';
import { readYaml, type YamlFile } from './yaml-file.ts';

export interface PolicyFileText {
  /** Path (or display name) of the file, used in messages. */
  readonly file: string;
  readonly text: string;
}

/** Parses a policy from one YAML text (flat or `roles:` shape). Throws `PolicyLoadError`. */
export function parsePolicy(text: string, options: { filename?: string } = {}): Policy {
  return buildPolicy([{ file: options.filename ?? '<policy>', text }], 'file');
}

/** The raw files of a policy: one file, or the `*.yaml` roles of a directory, sorted by name. */
export interface PolicyFiles {
  readonly kind: 'file' | 'directory';
  readonly files: readonly { readonly name: string; readonly path: string; readonly bytes: Buffer }[];
}

/**
 * Reads the bytes of a policy file or directory with the loader's file rules
 * (a directory holds `*.yaml` roles, dot files are skipped, a `.yml` file is an
 * error). For tools that must hash or compare exactly what gets parsed.
 */
export async function readPolicyFiles(path: string): Promise<PolicyFiles> {
  const info = await statOrIssue(path, () => stat(path));
  if (!info.isDirectory())
    return { kind: 'file', files: [{ name: basename(path), path, bytes: await readOrIssue(path) }] };
  const names = policyFileNames(path, (await readdir(path)).sort());
  const files = await Promise.all(
    names.map(async (name) => ({ name, path: join(path, name), bytes: await readOrIssue(join(path, name)) })),
  );
  return { kind: 'directory', files };
}

function readPolicyFilesSync(path: string): PolicyFiles {
  const info = statOrIssueSync(path);
  if (!info.isDirectory())
    return { kind: 'file', files: [{ name: basename(path), path, bytes: readOrIssueSync(path) }] };
  const names = policyFileNames(path, readdirSync(path).sort());
  return {
    kind: 'directory',
    files: names.map((name) => ({ name, path: join(path, name), bytes: readOrIssueSync(join(path, name)) })),
  };
}

/** Builds a policy from `readPolicyFiles` output. Throws `PolicyLoadError` (also for bytes that are not UTF-8). */
export function buildPolicyFromFiles(read: PolicyFiles, dir?: string): Policy {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const texts = read.files.map((f) => {
    try {
      return { file: f.path, text: decoder.decode(f.bytes) };
    } catch {
      throw new PolicyLoadError([{ file: f.path, line: 1, column: 1, message: 'the policy file is not valid UTF-8' }]);
    }
  });
  return buildPolicy(texts, read.kind, dir);
}

/** Loads a policy file or directory. Throws `PolicyLoadError` listing every problem. */
export async function loadPolicy(path: string): Promise<Policy> {
  return buildPolicyFromFiles(await readPolicyFiles(path), path);
}

/** Synchronous `loadPolicy`, for start-up code and CLIs. */
export function loadPolicySync(path: string): Policy {
  return buildPolicyFromFiles(readPolicyFilesSync(path), path);
}

/**
 * Builds a policy from already-read texts: one file (`kind: 'file'`) or the
 * files of a policy directory (`kind: 'directory'`). Used by loaders and by
 * policy sources that read from elsewhere (bundles, HTTP).
 */
export function buildPolicy(files: readonly PolicyFileText[], kind: 'file' | 'directory', dir?: string): Policy {
  const issues: PolicyIssue[] = [];
  const roles: RoleSource[] = [];
  if (kind === 'directory' && files.length === 0) {
    issues.push({
      file: dir ?? '<policy directory>',
      line: 1,
      column: 1,
      message: 'the policy directory has no *.yaml files',
    });
  }
  for (const { file, text } of files) {
    const yaml = readYaml(file, text, issues);
    if (!yaml) continue;
    if (kind === 'directory') {
      const name = basename(file, extname(file));
      const raw = validate(yaml, rolePolicySchema, [], 'role-in-directory', issues);
      if (raw) roles.push({ name, raw, yaml, path: [] });
    } else {
      readFileRoles(yaml, roles, issues);
    }
  }
  if (issues.length > 0) throw new PolicyLoadError(issues);
  return compileRoles(
    roles,
    files.map((f) => f.file),
  );
}

function readFileRoles(yaml: YamlFile, roles: RoleSource[], issues: PolicyIssue[]): void {
  const value = yaml.value;
  if (value === null || value === undefined) {
    issues.push({
      file: yaml.file,
      line: 1,
      column: 1,
      message: 'the policy file is empty',
      hint: 'a role policy has keys such as tools: and default_policy:',
    });
    return;
  }
  if (typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, 'roles')) {
    const parsed = validate(yaml, multiRoleSchema, [], 'multi', issues);
    if (!parsed) return;
    for (const [name, raw] of Object.entries(parsed.roles)) roles.push({ name, raw, yaml, path: ['roles', name] });
    return;
  }
  const raw = validate(yaml, rolePolicySchema, [], 'flat', issues);
  if (raw) roles.push({ name: 'default', raw, yaml, path: [] });
}

type Shape = 'flat' | 'multi' | 'role-in-directory';

/** Runs a zod schema and turns its issues into positioned, hinted `PolicyIssue`s. */
function validate<S extends z.ZodType>(
  yaml: YamlFile,
  schema: S,
  base: (string | number)[],
  shape: Shape,
  issues: PolicyIssue[],
): z.infer<S> | undefined {
  const result = schema.safeParse(yaml.value);
  if (result.success) return result.data as z.infer<S>;
  for (const issue of result.error.issues) {
    const path = [...base, ...(issue.path as (string | number)[])];
    const where = path.length > 0 ? path.join('.') : 'the top level';
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(path, shape);
      for (const key of issue.keys) {
        const pos = yaml.locate(path, key);
        let hint = didYouMean(key, known);
        if (key === 'roles' && shape === 'role-in-directory')
          hint = 'in a policy directory each file is one role; remove roles:';
        issues.push({
          file: yaml.file,
          ...pos,
          message: `unknown key '${key}' in ${where}`,
          ...(hint ? { hint } : { hint: `allowed keys: ${known.join(', ')}` }),
        });
      }
      continue;
    }
    const pos = yaml.locate(path);
    const actual = valueAt(yaml.value, path);
    if (path[path.length - 1] === 'mode' && typeof actual === 'string') {
      const hint = didYouMean(actual, MODES) ?? `use one of: ${MODES.join(', ')}`;
      issues.push({ file: yaml.file, ...pos, message: `unknown mode '${actual}' in ${where}`, hint });
      continue;
    }
    if (path[path.length - 1] === 'version') {
      issues.push({
        file: yaml.file,
        ...pos,
        message: `unsupported version ${JSON.stringify(actual)}`,
        hint: 'use version: 1',
      });
      continue;
    }
    issues.push({ file: yaml.file, ...pos, message: `invalid value at ${where}: ${describeZodIssue(issue, actual)}` });
  }
  return undefined;
}

function describeZodIssue(issue: z.core.$ZodIssue, actual: unknown): string {
  if (issue.code === 'invalid_type') {
    const got =
      actual === null
        ? 'null'
        : Array.isArray(actual)
          ? 'a list'
          : typeof actual === 'object'
            ? 'a mapping'
            : `${typeof actual} ${JSON.stringify(actual)}`;
    const expected =
      issue.expected === 'object' || issue.expected === 'record'
        ? 'a mapping'
        : issue.expected === 'array'
          ? 'a list'
          : `a ${issue.expected}`;
    return `expected ${expected}, got ${got}`;
  }
  // Includes the constants' own JSON check (`NOT_JSON` in policy-schema.ts).
  return issue.message;
}

function knownKeys(path: readonly (string | number)[], shape: Shape): string[] {
  const rel = shape === 'multi' ? path.slice(2) : path;
  if (shape === 'multi' && path.length === 0) return ['version', 'roles'];
  if (rel.length === 0) return shape === 'flat' ? [...ROLE_KEYS, 'roles'] : [...ROLE_KEYS];
  if (rel[0] === 'default_policy' || rel[0] === 'tools') return [...ENTRY_KEYS];
  return [...ROLE_KEYS];
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let v = value;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** Only `*.yaml` files are roles; a `.yml` file is almost certainly a mistake, so it is an error. */
function policyFileNames(dir: string, names: readonly string[]): string[] {
  const yml = names.filter((n) => n.endsWith('.yml'));
  if (yml.length > 0) {
    throw new PolicyLoadError(
      yml.map((n) => ({
        file: join(dir, n),
        line: 1,
        column: 1,
        message: 'policy directories hold *.yaml files; this .yml file would be ignored',
        hint: `rename it to ${basename(n, '.yml')}.yaml`,
      })),
    );
  }
  return names.filter((n) => n.endsWith('.yaml') && !n.startsWith('.'));
}

async function statOrIssue<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw missing(path, e);
  }
}

function statOrIssueSync(path: string) {
  try {
    return statSync(path);
  } catch (e) {
    throw missing(path, e);
  }
}

async function readOrIssue(path: string): Promise<Buffer> {
  try {
    return await readPolicyFile(path);
  } catch (e) {
    throw e instanceof PolicyLoadError ? e : missing(path, e);
  }
}

function readOrIssueSync(path: string): Buffer {
  try {
    return readPolicyFileSync(path);
  } catch (e) {
    throw e instanceof PolicyLoadError ? e : missing(path, e);
  }
}

function missing(path: string, e: unknown): PolicyLoadError {
  const code = (e as NodeJS.ErrnoException).code;
  return new PolicyLoadError([
    {
      file: path,
      line: 1,
      column: 1,
      message:
        code === 'ENOENT' ? 'no such policy file or directory' : `cannot read the policy: ${(e as Error).message}`,
    },
  ]);
}

export type { RawRolePolicy };

/**
 * The shape of a role policy, validated with zod (strict objects: an unknown
 * key is an error, never ignored). Positions are attached by the loader.
 *
 * `__proto__` and `constructor` keys are data. zod's z.record skips a
 * `__proto__` key without validating or keeping it (a tool, role or constant
 * of that name vanished, and so did a nested key of a constant), so maps of
 * names use `ownRecord` and constants are checked in place, never rebuilt.
 */
import { z } from 'zod';

export const MODES = ['allow', 'deny', 'approval_required'] as const;
export type Mode = (typeof MODES)[number];

export const ROLE_KEYS = ['version', 'inherits', 'is_mixin', 'default_policy', 'tools', 'consts'] as const;
export const ENTRY_KEYS = ['mode', 'constraints'] as const;

const toolEntry = z.strictObject({
  mode: z.enum(MODES).optional(),
  constraints: z.array(z.string()).optional(),
});

/** The message for a constant that is not JSON data (the loader shows it as is). */
export const NOT_JSON = 'expected JSON data (string, finite number, boolean, null, list or mapping)';

/**
 * A mapping validated over all its own keys, `__proto__` included. The result
 * is a fresh object whose keys are all own data properties (defineProperty, so
 * `__proto__` never sets a prototype); key order is kept.
 */
function ownRecord<T extends z.ZodType>(value: T) {
  return z.unknown().transform((input, ctx) => {
    const out: Record<string, z.output<T>> = {};
    if (!isPlainObject(input)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'record', input });
      return out;
    }
    for (const key of Object.keys(input)) {
      const result = value.safeParse((input as Record<string, unknown>)[key]);
      if (result.success) {
        Object.defineProperty(out, key, { value: result.data, enumerable: true, writable: true, configurable: true });
      } else {
        for (const issue of result.error.issues) {
          ctx.issues.push({ ...issue, path: [key, ...issue.path] } as (typeof ctx.issues)[number]);
        }
      }
    }
    return out;
  });
}

function isPlainObject(v: unknown): v is object {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A constant: JSON data checked in place, down to every own key, and deep-frozen.
 * The value is the one the YAML loader built (its `__proto__` keys are own
 * data properties), never a copy, so nothing the author wrote is dropped;
 * frozen, so no caller (describePolicy) can change what a loaded policy decides.
 */
const jsonValue = z
  .unknown()
  .superRefine((value, ctx) => {
    const check = (v: unknown, path: (string | number)[]): void => {
      if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
      if (typeof v === 'number' && Number.isFinite(v)) return;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) check(v[i], [...path, i]);
        return;
      }
      if (isPlainObject(v)) {
        for (const k of Object.keys(v)) check((v as Record<string, unknown>)[k], [...path, k]);
        return;
      }
      ctx.addIssue({ code: 'custom', message: NOT_JSON, path });
    };
    check(value, []);
  })
  .transform(deepFreeze);

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

export const rolePolicySchema = z.strictObject({
  version: z.literal(1).optional(),
  inherits: z.array(z.string()).optional(),
  is_mixin: z.boolean().optional(),
  default_policy: toolEntry.optional(),
  tools: ownRecord(toolEntry).optional(),
  consts: ownRecord(jsonValue).optional(),
});

export type RawToolEntry = z.infer<typeof toolEntry>;
export type RawRolePolicy = z.infer<typeof rolePolicySchema>;

export const multiRoleSchema = z.strictObject({
  version: z.literal(1).optional(),
  roles: ownRecord(rolePolicySchema),
});

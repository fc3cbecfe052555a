/**
 * The shape of a role policy, validated with zod (strict objects: an unknown
 * key is an error, never ignored). Positions are attached by the loader.
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

const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

export const rolePolicySchema = z.strictObject({
  version: z.literal(1).optional(),
  inherits: z.array(z.string()).optional(),
  is_mixin: z.boolean().optional(),
  default_policy: toolEntry.optional(),
  tools: z.record(z.string(), toolEntry).optional(),
  consts: z.record(z.string(), jsonValue).optional(),
});

export type RawToolEntry = z.infer<typeof toolEntry>;
export type RawRolePolicy = z.infer<typeof rolePolicySchema>;

export const multiRoleSchema = z.strictObject({
  version: z.literal(1).optional(),
  roles: z.record(z.string(), rolePolicySchema),
});

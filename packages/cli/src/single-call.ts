/**
 * What `policy test --tool` and `policy explain` share: the options that
 * describe one call, their parsing (JSON for --args and --ctx), loading the
 * policy, and the warnings about role names that fall back to `default`.
 */
import { formatIssue, type Policy, type ToolCall, type User } from '@hexgate/core';
import { roleWarnings, userFrom } from './caller.ts';
import { type CommandContext, type CommandInput, EXIT, UsageError } from './command.ts';
import { loadPolicyFor } from './policy-loading.ts';

export const callOptions = {
  tool: { type: 'string' },
  role: { type: 'string', multiple: true },
  'user-id': { type: 'string' },
  args: { type: 'string' },
  ctx: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const callOptionsHelp = `  --tool T       the tool name (required)
  --role R       a role of the caller; repeat for several (none: the default role)
  --user-id U    the caller's id (user.id in constraints); needed with --role or --ctx
  --args JSON    the tool arguments as a JSON object (default {})
  --ctx JSON     the caller's attributes as a JSON object (ctx.<name> in constraints)
  --json         print one JSON object instead of text
  -h, --help     show this help`;

type CallValues = CommandInput<typeof callOptions>['values'];

export interface PreparedCall {
  readonly policyPath: string;
  readonly policy: Policy;
  readonly call: ToolCall & { readonly user: User | undefined };
  /** The arguments as given: the raw JSON text, so core parses it exactly as a host's would be. */
  readonly argsText: string;
  /** The same, as `JSON.parse` reads it (for JSON output; core decides on `argsText`). */
  readonly argsValue: unknown;
  readonly warnings: readonly string[];
}

function parseJson(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${option} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Parses the call options and loads the policy; returns an exit code when it cannot go on. */
export async function prepareCall(
  values: CallValues,
  positionals: readonly string[],
  ctx: CommandContext,
): Promise<PreparedCall | number> {
  if (positionals.length === 0) throw new UsageError('missing <policy>: which policy file or directory?');
  if (positionals.length > 1)
    throw new UsageError(`expected one <policy>, got ${positionals.length}: ${positionals.join(' ')}`);
  if (values.tool === undefined || values.tool === '') throw new UsageError('missing --tool: which tool is called?');
  const argsText = values.args ?? '{}';
  const argsValue = parseJson('--args', argsText);
  let attributes: Record<string, unknown> | undefined;
  if (values.ctx !== undefined) {
    const ctxValue = parseJson('--ctx', values.ctx);
    if (typeof ctxValue !== 'object' || ctxValue === null || Array.isArray(ctxValue))
      throw new UsageError('--ctx must be a JSON object, e.g. \'{"region": "EU"}\'');
    attributes = ctxValue as Record<string, unknown>;
  }
  const policyPath = positionals[0] as string;
  const loaded = await loadPolicyFor(ctx, policyPath);
  if (!loaded.ok) {
    for (const issue of loaded.issues) ctx.err(formatIssue(issue));
    ctx.err(`${ctx.name}: cannot load the policy ${policyPath}`);
    return EXIT.usage;
  }
  // Core denies a user without an id; the CLI does not make one up (constraints on user.id would see it).
  if (values['user-id'] === undefined && (values.role !== undefined || attributes !== undefined))
    throw new UsageError(
      `${values.role !== undefined ? '--role' : '--ctx'} describes a user, who needs an id: add --user-id U`,
    );
  const user = userFrom({ id: values['user-id'], roles: values.role, attributes });
  const warnings = roleWarnings(loaded.policy, values.role);
  for (const w of warnings) ctx.err(`${ctx.style.yellow('warning')}: ${w}`);
  return {
    policyPath,
    policy: loaded.policy,
    call: { tool: values.tool, args: argsText, user },
    argsText,
    argsValue,
    warnings,
  };
}

/** Arguments shown compactly: the snapshot core decided on, else the text as given. */
export function argsForDisplay(snapshot: unknown, argsText: string): string {
  return snapshot === undefined ? argsText : JSON.stringify(snapshot);
}

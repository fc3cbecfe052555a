/**
 * The caller a command decides for: builds the `User` from `--user-id`,
 * `--role` and `--ctx` (or a test case's `user:`), and warns about role names
 * the policy does not define, which silently fall back to `default`.
 */
import { describePolicy, didYouMean, type Policy, type User } from '@hexgate/core';

export interface CallerInput {
  readonly id?: string | undefined;
  readonly roles?: readonly string[] | undefined;
  readonly attributes?: Readonly<Record<string, unknown>> | undefined;
  readonly sessionId?: string | undefined;
}

/**
 * No id, roles or attributes means no user at all (the `default` role).
 * No id is made up for roles or attributes given without one: core denies
 * such a user, so commands ask for the id instead.
 */
export function userFrom(input: CallerInput | undefined): User | undefined {
  if (!input || (input.id === undefined && !input.roles?.length && input.attributes === undefined)) return undefined;
  const user: Record<string, unknown> = {};
  if (input.id !== undefined) user.id = input.id;
  if (input.roles?.length) user.roles = [...input.roles];
  if (input.attributes !== undefined) user.attributes = input.attributes;
  if (input.sessionId !== undefined) user.sessionId = input.sessionId;
  return user as unknown as User;
}

/** One warning per role name that is unknown or a mixin (both are evaluated as `default`). */
export function roleWarnings(policy: Policy, roles: readonly string[] | undefined): string[] {
  // Runs once per test case: the common case (roles the policy defines) needs no description of the policy.
  const selectable = policy.roleNames;
  const odd = [...new Set(roles ?? [])].filter((name) => !selectable.includes(name));
  if (odd.length === 0) return [];
  const fallback = policy.hasDefaultRole
    ? "it falls back to 'default'"
    : "it falls back to 'default', which this policy does not define (deny everything)";
  const mixins = new Set(
    describePolicy(policy)
      .roles.filter((r) => r.isMixin)
      .map((r) => r.name),
  );
  return odd.map((name) => {
    if (mixins.has(name)) return `role '${name}' is a mixin, not a role a caller can hold; ${fallback}`;
    const hint = didYouMean(name, selectable);
    return `role '${name}' is not defined in the policy; ${fallback}${hint ? ` (${hint})` : ''}`;
  });
}

export function describeUser(user: User | undefined): string {
  if (!user) return 'none (default role)';
  const parts = [user.id === undefined ? 'no id' : `id ${user.id}`];
  parts.push(user.roles?.length ? `roles [${user.roles.join(', ')}]` : 'no roles (default role)');
  if (user.attributes !== undefined) parts.push(`ctx ${JSON.stringify(user.attributes)}`);
  return parts.join(', ');
}

import { describe, expect, it, vi } from 'vitest';
import {
  createEnforcer,
  getUser,
  HexgateError,
  MissingUserError,
  runWithoutUser,
  runWithUser,
  tryGetUser,
  type User,
} from './index.ts';
import { testPolicy } from './testing/index.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

const policy = testPolicy(`
  roles:
    default:
      tools: { read: { mode: allow } }
    admin:
      inherits: [default]
      tools:
        wire: { mode: allow }
        org_export: { mode: allow, constraints: ['ctx.org.id == "acme"'] }
`);
const enforcer = createEnforcer({ policy });

describe('user scope', () => {
  it('binds a user for sync and async work, and nothing outside', async () => {
    expect(tryGetUser()).toBeUndefined();
    expect(() => getUser()).toThrow(MissingUserError);
    await runWithUser({ id: 'a' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(getUser().id).toBe('a');
    });
    expect(tryGetUser()).toBeUndefined();
  });

  it('runWithoutUser steps out of any bound user', async () => {
    await runWithUser({ id: 'outer' }, async () => {
      const inner = await runWithoutUser(async () => {
        await Promise.resolve();
        return tryGetUser();
      });
      expect(inner).toBeUndefined();
      expect(getUser().id).toBe('outer');
    });
  });

  it('refuses a malformed user instead of silently using the default role', () => {
    for (const bad of [
      'alice',
      null,
      { userId: 'a' },
      { id: '' },
      { id: 'a', roles: 'admin' },
      { id: 'a', attributes: [] },
      { id: 'a', attributes: '{"org":"acme"}' },
      { id: 'a', attributes: { when: new Date(0) } },
      { id: 'a', attributes: { n: Number.NaN } },
    ]) {
      expect(() => runWithUser(bad as never, () => 1), JSON.stringify(bad)).toThrow(/runWithUser: /);
    }
  });

  it('binds a deep copy even of a frozen user: mutating its roles or a nested attribute later changes nothing', async () => {
    const roles = ['default'];
    const frozen: User = Object.freeze({ id: 'mallory', roles });
    const wire = await runWithUser(frozen, async () => {
      roles[0] = 'admin'; // e.g. another request "elevates" a cached session object
      await tick();
      return enforcer.decide({ tool: 'wire', args: {} }).decision.outcome;
    });
    expect(wire).toBe('deny');

    const attributes = { org: { id: 'other' } };
    const exported = await runWithUser({ id: 'a', roles: ['admin'], attributes }, async () => {
      attributes.org.id = 'acme';
      await tick();
      return enforcer.decide({ tool: 'org_export', args: {} }).decision.outcome;
    });
    expect(exported).toBe('deny');
  });

  it('reads each field once: a user made of getters is bound with its values, and cannot change its answer later', () => {
    class SessionUser {
      get id() {
        return 'alice';
      }
      get roles() {
        return ['admin'];
      }
    }
    const bound = runWithUser(new SessionUser() as User, () => enforcer.decide({ tool: 'wire', args: {} }).decision);
    expect(bound).toMatchObject({ userId: 'alice', outcome: 'allow' });

    let reads = 0;
    const shifty = {
      id: 'a',
      get roles() {
        return reads++ === 0 ? ['default'] : ['admin'];
      },
    };
    const { decision } = enforcer.decide({ tool: 'wire', args: {}, user: shifty as never });
    expect(decision.outcome).toBe('deny');
    expect(reads).toBe(1);
  });

  it('concurrent requests never see each other', async () => {
    const seen = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runWithUser({ id: `u${i}` }, async () => {
          await new Promise((r) => setTimeout(r, (i * 7) % 5));
          await Promise.resolve();
          return getUser().id;
        }),
      ),
    );
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => `u${i}`));
  });

  it('the bound user is a frozen copy: later mutation of the caller object changes nothing', () => {
    const roles = ['a'];
    const user = { id: 'x', roles };
    runWithUser(user, () => {
      roles.push('admin');
      expect(getUser().roles).toEqual(['a']);
      expect(Object.isFrozen(getUser().roles)).toBe(true);
    });
  });

  it('two copies of the module share one scope, and errors are recognised across copies', async () => {
    vi.resetModules();
    // A query string makes the module loader evaluate a second, independent copy.
    const second = (name: string) => import(/* @vite-ignore */ `./${name}.ts?copy=2`);
    const copy = (await second('user-scope')) as typeof import('./user-scope.ts');
    const errorsCopy = (await second('errors')) as typeof import('./errors.ts');
    runWithUser({ id: 'shared' }, () => expect(copy.getUser().id).toBe('shared'));
    const foreign = new errorsCopy.MissingUserError();
    expect(foreign).not.toBeInstanceOf(MissingUserError);
    expect(HexgateError.isInstance(foreign)).toBe(true);
    expect(HexgateError.isInstance(new Error('x'))).toBe(false);
  });
});

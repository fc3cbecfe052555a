/**
 * Secrets never leave the process, whichever way they travel: nested JSON
 * text inside an argument, an error message that echoes the arguments, the
 * hash of an approved call, a tool name the size of a book. Assertions are
 * on what went over the wire to the (local) Langfuse receiver.
 */

import { createEnforcer, hashArgs, runWithUser } from '@hexgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeEnforcer, policy } from './__fixtures__/simulated-agent.ts';
import { createTracingListener, recordDecision, traceRun, traceToolCall } from './index.ts';
import { type LangfuseTestSetup, setupLangfuseForTest } from './testing/index.ts';

const bob = { id: 'bob', roles: [], sessionId: 'sess-bob' };

let lf: LangfuseTestSetup;
beforeEach(async () => {
  lf = await setupLangfuseForTest();
});
afterEach(async () => {
  await lf.shutdown();
});

const spanNamed = (name: string) => {
  const found = lf.receiver.spans().filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0] as NonNullable<(typeof found)[0]>;
};

describe('secrets in the arguments', () => {
  it('JSON text inside an argument (a request body, a list of headers) is redacted like the arguments themselves', async () => {
    const enforcer = makeEnforcer();
    const args = {
      user: 'bob',
      body: JSON.stringify({ password: 'pw-in-body-1', keep: 'visible' }),
      headers: [JSON.stringify({ Authorization: 'Bearer tok-in-list-2' })],
      twice: JSON.stringify({ inner: JSON.stringify({ apiKey: 'sk-double-3' }) }),
      // Longer than the 1,024 characters a string keeps: cut first, it would show its start, secret included.
      long: JSON.stringify({ token: 'tok-long-4', pad: 'x'.repeat(5_000) }),
    };
    const { decision, args: snapshot } = runWithUser(bob, () => enforcer.decide({ tool: 'login', args }));
    expect(decision.effective).toBe('allow');
    await runWithUser(bob, () => traceToolCall(decision, snapshot, async () => 'ok'));
    // The host's raw text of a call that was denied, encoded twice (a JSON string holding JSON).
    const raw = JSON.stringify(JSON.stringify({ password: 'pw-raw-5' }));
    const denied = runWithUser(bob, () => enforcer.decide({ tool: 'change_password', args: raw }));
    recordDecision(denied.decision, raw);
    await lf.flush();

    const wire = lf.receiver.allBodies();
    for (const secret of ['pw-in-body-1', 'tok-in-list-2', 'sk-double-3', 'tok-long-4', 'pw-raw-5']) {
      expect(wire, secret).not.toContain(secret);
    }
    const recorded = spanNamed('tool:login').observation.input as Record<string, string>;
    expect(JSON.parse(recorded.body as string)).toEqual({ keep: 'visible', password: '[REDACTED]' });
    expect(recorded.user).toBe('bob');
  });

  it('an error message that echoes the arguments does not carry their secrets into the tool or the run', async () => {
    const enforcer = makeEnforcer();
    const run = runWithUser(bob, () =>
      traceRun({ framework: 'test', name: 'failing-run' }, async () => {
        const { decision, args } = enforcer.decide({
          tool: 'login',
          args: { user: 'bob', password: 'pw-echo-6', credentials: { pin: 'pin-4321-q', otp: '99 88' } },
        });
        try {
          // What validation libraries and HTTP clients do: quote the input in the message.
          await traceToolCall(decision, args, async () => {
            throw new Error(`invalid login ${JSON.stringify(args)}`);
          });
        } catch (e) {
          throw new Error(`agent failed: ${(e as Error).message}`);
        }
      }),
    );
    await expect(run).rejects.toThrow('pw-echo-6'); // the caller still gets the real error
    await lf.flush();

    const wire = lf.receiver.allBodies();
    // (no bare digits: a span's nanosecond timestamps could contain them)
    for (const secret of ['pw-echo-6', 'pin-4321-q', '99 88']) expect(wire, secret).not.toContain(secret);
    expect(spanNamed('tool:login').observation).toMatchObject({
      level: 'ERROR',
      statusMessage: expect.stringContaining('"password":"[REDACTED]"'),
    });
    expect(spanNamed('failing-run').observation).toMatchObject({
      level: 'ERROR',
      statusMessage: expect.stringMatching(/^Error: agent failed: invalid login .*"user":"bob"/),
    });
  });

  it('approval events do not export the hash of the arguments (a short secret in them could be brute-forced back)', async () => {
    const enforcer = createEnforcer({ policy, ...createTracingListener() });
    const refund = enforcer.guard(async (a: { amount: number; password: string }) => `refunded ${a.amount}`, {
      tool: 'refund',
      approvalHandler: async () => true,
    });
    const args = { amount: 9, password: '4711' };
    await runWithUser({ id: 'alice', roles: ['support'] }, () => refund(args));
    await lf.flush();
    expect(lf.receiver.spans().filter((s) => s.observation.type === 'event')).toHaveLength(2);
    // The password is redacted in the guardrail, but amount is not: 10,000 guesses of a 4-digit one would match the hash.
    const wire = lf.receiver.allBodies();
    expect(wire).not.toContain(hashArgs(args));
    expect(wire).not.toContain('4711');
  });
});

describe('odd values', () => {
  it('a tool name of a megabyte is clipped in span names and fields', async () => {
    const enforcer = makeEnforcer();
    const tool = `t${'o'.repeat(1_000_000)}l`;
    const { decision, args } = runWithUser(bob, () => enforcer.decide({ tool, args: {} }));
    expect(decision.effective).toBe('deny');
    recordDecision(decision, args);
    await lf.flush();
    const [span] = lf.receiver.spans();
    expect(span?.name.length).toBeLessThanOrEqual(300);
    expect(span?.name.startsWith('policy:tooo')).toBe(true);
    expect(lf.receiver.allBodies().length).toBeLessThan(50_000);
    // Core denies such a name outright, so the reason is short too.
    expect(span?.observation.metadata.reason).toBe('tool name longer than 256 characters');
  });

  it('a tool that throws something unprintable still ends its observations, as ERROR', async () => {
    const enforcer = makeEnforcer();
    const { decision, args } = runWithUser(bob, () => enforcer.decide({ tool: 'get_weather', args: { city: 'X' } }));
    const thrown = Object.create(null); // String(thrown) throws
    await expect(traceToolCall(decision, args, async () => Promise.reject(thrown))).rejects.toBe(thrown);
    await lf.flush();
    expect(spanNamed('tool:get_weather').observation).toMatchObject({
      level: 'ERROR',
      statusMessage: '[an error that cannot be described]',
    });
    expect(spanNamed('policy:get_weather').observation.metadata).toMatchObject({ toolStatus: 'error' });
  });
});

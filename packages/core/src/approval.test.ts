import { describe, expect, it } from 'vitest';
import { type ApprovalRequest, askApproval, createEnforcer, hashArgs } from './index.ts';
import { testPolicy } from './testing/index.ts';

const enforcer = createEnforcer({
  policy: testPolicy(`
    tools:
      wire: { mode: approval_required }
  `),
});
const { decision, args } = enforcer.decide({ tool: 'wire', args: { amount: 5 } });
const request = { decision, args: args as NonNullable<typeof args>, argsHash: hashArgs(args) };

describe('askApproval', () => {
  it('approves only on a literal true', async () => {
    expect(await askApproval(() => true, request)).toEqual({ approved: true, status: 'approved', reason: 'approved' });
    for (const answer of [false, 'yes', 1, {}, undefined]) {
      expect(await askApproval(() => answer, request)).toMatchObject({ approved: false, status: 'rejected' });
    }
  });

  it('a throwing handler rejects; a handler that never answers expires and sees its signal abort', async () => {
    expect(
      await askApproval(() => {
        throw new Error('approver offline');
      }, request),
    ).toEqual({ approved: false, status: 'rejected', reason: 'approval handler failed: approver offline' });
    let seen: AbortSignal | undefined;
    const answer = await askApproval(
      ({ signal }: ApprovalRequest) => {
        seen = signal;
        return new Promise(() => {});
      },
      request,
      { timeoutMs: 5 },
    );
    expect(answer).toEqual({ approved: false, status: 'expired', reason: 'approval timed out after 5 ms' });
    expect(seen?.aborted).toBe(true);
  });

  it('a handler throwing something odd (not an Error) still rejects, and never rejects the promise', async () => {
    for (const odd of [Object.create(null), Symbol('x'), undefined]) {
      const answer = await askApproval(() => {
        throw odd;
      }, request);
      expect(answer).toMatchObject({ approved: false, status: 'rejected' });
    }
  });

  it("the caller's signal cancels: the handler's signal aborts and a late yes does not count", async () => {
    const caller = new AbortController();
    let release: (yes: boolean) => void = () => {};
    let seen: AbortSignal | undefined;
    const pending = askApproval(
      ({ signal }: ApprovalRequest) => {
        seen = signal;
        return new Promise<boolean>((resolve) => {
          release = resolve;
        });
      },
      request,
      { signal: caller.signal },
    );
    caller.abort();
    release(true);
    expect(await pending).toEqual({
      approved: false,
      status: 'rejected',
      reason: 'the call was cancelled before it was approved',
    });
    expect(seen?.aborted).toBe(true);
  });

  it('an already cancelled call never reaches the handler', async () => {
    let asked = false;
    const answer = await askApproval(
      () => {
        asked = true;
        return true;
      },
      request,
      { signal: AbortSignal.abort() },
    );
    expect(answer.approved).toBe(false);
    expect(asked).toBe(false);
  });
});

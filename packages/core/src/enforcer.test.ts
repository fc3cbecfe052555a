import { describe, expect, it, vi } from 'vitest';
import {
  createEnforcer,
  type DecisionEvent,
  decisionPayload,
  decisionText,
  HexgateError,
  hashArgs,
  InvalidOptionsError,
  PolicyDeniedError,
  parsePolicy,
  runWithUser,
} from './index.ts';
import { recordingEnforcer, testPolicy } from './testing/index.ts';

const policy = testPolicy(`
  roles:
    default:
      tools:
        search: { mode: allow }
    billing:
      consts: { currencies: ["USD", "EUR"] }
      tools:
        refund:
          mode: allow
          constraints:
            - args.amount <= 500
            - args.currency in consts.currencies
        wire:
          mode: approval_required
          constraints: ["args.amount <= 10000", "ctx.region == \\"EU\\""]
    support:
      tools:
        refund: { mode: approval_required, constraints: ["args.amount <= 100"] }
        delete: { mode: deny }
`);

const alice = { id: 'alice', roles: ['billing'], sessionId: 's1', attributes: { region: 'EU', secret: 'x' } };

describe('decisions', () => {
  const enforcer = createEnforcer({ policy, agentName: 'bot' });

  it('allow, deny by constraint, deny by default, approval', () => {
    runWithUser(alice, () => {
      const allowed = enforcer.decide({ tool: 'refund', args: { amount: 200, currency: 'USD' } }).decision;
      expect(allowed).toMatchObject({
        outcome: 'allow',
        effective: 'allow',
        decidingRole: 'billing',
        violations: [],
        userId: 'alice',
        sessionId: 's1',
        agentName: 'bot',
        roles: ['billing'],
        policyDigest: policy.digest,
      });
      const denied = enforcer.decide({ tool: 'refund', args: { amount: 900, currency: 'GBP' } }).decision;
      expect(denied).toMatchObject({
        outcome: 'deny',
        decidingRole: 'billing',
        violations: ['args.amount <= 500', 'args.currency in consts.currencies'],
      });
      expect(enforcer.decide({ tool: 'drop_table', args: {} }).decision).toMatchObject({
        outcome: 'deny',
        reason: "tool 'drop_table' is not allowed for role 'billing' (default policy)",
      });
      expect(enforcer.decide({ tool: 'wire', args: { amount: 5 } }).decision.outcome).toBe('approval_required');
    });
  });

  it('approval_required still needs every constraint to hold', () => {
    const d = enforcer.decide({ tool: 'wire', args: { amount: 5 }, user: { id: 'b', roles: ['billing'] } }).decision;
    expect(d).toMatchObject({ outcome: 'deny', violations: ['ctx.region == "EU"'] });
  });

  it('several roles: allow beats approval beats deny, and the deciding role is reported', () => {
    const both = { id: 'c', roles: ['support', 'billing'] };
    expect(
      enforcer.decide({ tool: 'refund', args: { amount: 50, currency: 'USD' }, user: both }).decision,
    ).toMatchObject({ outcome: 'allow', decidingRole: 'billing' });
    expect(
      enforcer.decide({ tool: 'refund', args: { amount: 50, currency: 'GBP' }, user: both }).decision,
    ).toMatchObject({ outcome: 'approval_required', decidingRole: 'support' });
    const none = enforcer.decide({ tool: 'refund', args: { amount: 700, currency: 'GBP' }, user: both }).decision;
    expect(none).toMatchObject({ outcome: 'deny', decidingRole: 'support' });
    expect(none.violations).toEqual(['args.amount <= 100', 'args.amount <= 500', 'args.currency in consts.currencies']);
  });

  it('no roles, unknown roles and no user mean the default role', () => {
    for (const user of [undefined, { id: 'x' }, { id: 'x', roles: ['ghost'] }]) {
      const d = enforcer.decide({ tool: 'search', args: {}, ...(user ? { user } : {}) }).decision;
      expect(d).toMatchObject({ outcome: 'allow', decidingRole: 'default' });
    }
  });

  it('without a default role in the policy, unknown callers are denied (never borrowed)', () => {
    const p = parsePolicy('roles:\n  admin: { default_policy: { mode: allow } }\n');
    const e = createEnforcer({ policy: p });
    expect(e.decide({ tool: 'anything', args: {} }).decision).toMatchObject({
      outcome: 'deny',
      reason: expect.stringContaining('defines no default role'),
    });
    expect(e.decide({ tool: 'anything', args: {}, user: { id: 'a', roles: ['admin'] } }).decision.outcome).toBe(
      'allow',
    );
  });

  it('requireUser denies when no user is in scope', () => {
    const e = createEnforcer({ policy, requireUser: true });
    expect(e.decide({ tool: 'search', args: {} }).decision).toMatchObject({
      outcome: 'deny',
      reason: expect.stringContaining('requires'),
    });
    expect(runWithUser({ id: 'u' }, () => e.decide({ tool: 'search', args: {} })).decision.outcome).toBe('allow');
  });

  it('missing arguments and type mismatches never allow, also under not and !=', () => {
    const p = testPolicy(`
      tools:
        a: { mode: allow, constraints: ["not (args.x > 5)"] }
        b: { mode: allow, constraints: ["args.x != 5"] }
        c: { mode: allow, constraints: ["args.x == 500"] }
        d: { mode: allow, constraints: ["args.flag == true"] }
    `);
    const e = createEnforcer({ policy: p });
    const outcomeOf = (tool: string, args: unknown) => e.decide({ tool, args }).decision.outcome;
    expect(outcomeOf('a', {})).toBe('deny');
    expect(outcomeOf('a', { x: '3' })).toBe('deny');
    expect(outcomeOf('a', { x: 3 })).toBe('allow');
    expect(outcomeOf('b', {})).toBe('deny');
    expect(outcomeOf('c', { x: '500' })).toBe('deny');
    expect(outcomeOf('c', { x: 500.0 })).toBe('allow');
    expect(outcomeOf('d', { flag: 1 })).toBe('deny');
    expect(outcomeOf('d', { flag: true })).toBe('allow');
  });

  it('an explicit malformed user denies with a clear reason', () => {
    const d = enforcer.decide({ tool: 'search', args: {}, user: { id: 'x', roles: 'billing' } as never }).decision;
    expect(d).toMatchObject({ outcome: 'deny', reason: 'invalid user: user.roles must be a list of role names' });
    expect(enforcer.explain({ tool: 'search', args: {}, user: { roles: ['billing'] } as never })).toMatchObject({
      outcome: 'deny',
      reason: 'invalid user: user.id must be a non-empty string',
    });
  });

  it('an invalid tool name or a missing policy denies', () => {
    expect(enforcer.decide({ tool: '', args: {} }).decision.outcome).toBe('deny');
    const e = createEnforcer({ policy: { currentPolicy: () => ({ error: 'never loaded' }) } });
    expect(e.decide({ tool: 'search', args: {} }).decision).toMatchObject({
      outcome: 'deny',
      reason: 'no usable policy: never loaded',
      policyDigest: '',
    });
  });

  it('`role` is the role being decided (also in inherited entries) and `tool` the tool being called', () => {
    const e = createEnforcer({
      policy: testPolicy(`
        roles:
          shared:
            is_mixin: true
            tools:
              report: { mode: allow, constraints: ['role == "auditor"'] }
            default_policy: { mode: allow, constraints: ['startswith(tool, "read_")', 'role != "shared"'] }
          auditor: { inherits: [shared] }
          intern: { inherits: [shared] }
      `),
    });
    const decide = (roles: string[], tool: string) => e.decide({ tool, args: {}, user: { id: 'u', roles } }).decision;
    expect(decide(['auditor'], 'report').outcome).toBe('allow');
    expect(decide(['intern'], 'report')).toMatchObject({ outcome: 'deny', violations: ['role == "auditor"'] });
    expect(decide(['intern'], 'read_logs').outcome).toBe('allow');
    expect(decide(['intern'], 'write_logs')).toMatchObject({
      outcome: 'deny',
      violations: ['startswith(tool, "read_")'],
    });
    // Two roles: each is decided with its own name.
    expect(decide(['intern', 'auditor'], 'report')).toMatchObject({ outcome: 'allow', decidingRole: 'auditor' });
  });
});

describe('model-facing forms never leak arguments, attributes or other roles', () => {
  const enforcer = createEnforcer({ policy, agentName: 'bot' });
  it('deny text and payload', () => {
    const d = enforcer.decide({
      tool: 'refund',
      args: { amount: 900, currency: 'USD' },
      user: { ...alice, roles: ['billing', 'support'] },
    }).decision;
    expect(decisionText(d)).toBe(
      "[policy_denied] Tool 'refund' is denied by the agent policy: constraint not satisfied: args.amount <= 500. The tool was not executed.",
    );
    expect(decisionPayload(d)).toEqual({
      type: 'policy_denied',
      message: decisionText(d),
      tool_name: 'refund',
      agent_name: 'bot',
      retryable: false,
      role: 'billing',
      violations: ['args.amount <= 500', 'args.amount <= 100'],
    });
    expect(JSON.stringify(decisionPayload(d))).not.toMatch(/900|EU|secret|support/);
  });

  it('approval text; reasons are trimmed and end with one full stop', () => {
    const d = enforcer.decide({ tool: 'wire', args: { amount: 1 }, user: alice }).decision;
    expect(decisionText(d)).toBe(
      "[approval_required] Tool 'wire' requires human approval before execution: role 'billing' needs human approval to call 'wire'. The tool was not executed.",
    );
    expect(decisionText({ ...d, reason: 'already done!  ' })).toContain('execution: already done! The tool');
    expect(decisionPayload(d)).toMatchObject({ type: 'approval_required', role: 'billing' });
    expect(decisionPayload(d)).not.toHaveProperty('violations');
  });
});

describe('shadow mode, listeners and recorders', () => {
  it('shadow mode reports the decision and lets the call proceed', () => {
    const e = recordingEnforcer({ policy, mode: 'shadow' });
    const r = e.decide({ tool: 'delete', args: { id: 1 }, user: { id: 's', roles: ['support'] } });
    expect(r.decision).toMatchObject({ outcome: 'deny', effective: 'allow', mode: 'shadow' });
    expect(r.args).toEqual({ id: 1 });
    expect(e.decisions.map((x) => x.decision.id)).toEqual([r.decision.id]);
    expect(e.decide({ tool: 'delete', args: '{"id":1,"id":2}' }).decision.effective).toBe('deny');
  });

  it('every decision reaches onDecision with the snapshot and the user; a throwing listener changes nothing', () => {
    const events: DecisionEvent[] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const e = createEnforcer({
      policy,
      onDecision: (ev) => {
        events.push(ev);
        throw new Error('listener bug');
      },
    });
    const r = runWithUser(alice, () => e.decide({ tool: 'refund', args: '{"amount":1,"currency":"EUR"}' }));
    expect(r.decision.outcome).toBe('allow');
    expect(events).toHaveLength(1);
    expect(events[0]?.args).toBe(r.args);
    expect(events[0]?.user?.id).toBe('alice');
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it('a recorder that cannot take the record turns the decision into a deny (fail closed)', () => {
    let accept = true;
    const e = createEnforcer({
      policy,
      recorder: { recordDecision: () => (accept ? undefined : 'audit unavailable') },
    });
    expect(e.decide({ tool: 'search', args: {} }).decision.outcome).toBe('allow');
    accept = false;
    expect(e.decide({ tool: 'search', args: {} }).decision).toMatchObject({
      outcome: 'deny',
      effective: 'deny',
      reason: 'audit unavailable',
    });
    const throwing = createEnforcer({
      policy,
      recorder: {
        recordDecision: () => {
          throw new Error('disk full');
        },
      },
    });
    expect(throwing.decide({ tool: 'search', args: {} }).decision).toMatchObject({
      outcome: 'deny',
      reason: 'audit unavailable: disk full',
    });
  });

  it('approval events carry the hash of the exact arguments', () => {
    const e = recordingEnforcer({ policy });
    const { decision, args } = e.decide({ tool: 'wire', args: { amount: 1 }, user: alice });
    e.reportApproval({ status: 'approved', decision, args, approver: 'carol' });
    expect(e.approvals[0]).toMatchObject({
      status: 'approved',
      approver: 'carol',
      argsHash: hashArgs({ amount: 1 }),
      decision: { id: decision.id },
    });
    expect(hashArgs({ a: 1, b: 2 })).toBe(hashArgs({ b: 2, a: 1 }));
  });
});

describe('guard(fn) protects any async function', () => {
  it('runs allowed calls with the frozen snapshot, throws a typed error otherwise', async () => {
    const e = createEnforcer({ policy });
    const refund = vi.fn(async (args: { amount: number; currency: string }) => `refunded ${args.amount}`);
    const guarded = e.guard(refund, { tool: 'refund' });
    await runWithUser(alice, async () => {
      await expect(guarded({ amount: 10, currency: 'USD' })).resolves.toBe('refunded 10');
      expect(Object.isFrozen(refund.mock.calls[0]?.[0])).toBe(true);
      const err = await guarded({ amount: 1000, currency: 'USD' }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(PolicyDeniedError);
      expect(HexgateError.isInstance(err)).toBe(true);
      expect((err as PolicyDeniedError).code).toBe('POLICY_DENIED');
      expect((err as Error).message).toMatch(/^\[policy_denied\]/);
    });
    expect(refund).toHaveBeenCalledTimes(1);
  });

  it('approval: only a literal true approves; errors and timeouts reject', async () => {
    const e = recordingEnforcer({ policy });
    const wire = vi.fn(async () => 'sent');
    const answers: unknown[] = [true, 'yes', 1, new Error('boom')];
    for (const answer of answers) {
      const g = e.guard(wire, {
        tool: 'wire',
        approvalHandler: () => {
          if (answer instanceof Error) throw answer;
          return answer;
        },
      });
      const result = await runWithUser(alice, () => g({ amount: 5 })).catch((x: unknown) => x);
      expect(result === 'sent').toBe(answer === true);
    }
    const slow = e.guard(wire, { tool: 'wire', approvalHandler: () => new Promise(() => {}), approvalTimeoutMs: 20 });
    await expect(runWithUser(alice, () => slow({ amount: 5 }))).rejects.toMatchObject({ code: 'APPROVAL_REQUIRED' });
    expect(wire).toHaveBeenCalledTimes(1);
    expect(e.approvals.map((a) => a.status)).toEqual([
      'requested',
      'approved',
      'requested',
      'rejected',
      'requested',
      'rejected',
      'requested',
      'rejected',
      'requested',
      'expired',
    ]);
  });
});

describe('couldCall (for hiding tools, never for enforcement)', () => {
  it('is true when some role of the user has a non-deny entry', () => {
    const e = createEnforcer({ policy });
    expect(e.couldCall('wire', alice)).toBe(true);
    expect(e.couldCall('wire', { id: 'x' })).toBe(false);
    expect(e.couldCall('delete', { id: 'x', roles: ['support'] })).toBe(false);
    expect(e.couldCall('search', { id: 'x', roles: ['support'] })).toBe(false);
  });
});

describe('refuse (denials an adapter makes itself)', () => {
  it('produces a deny that goes through the recorder and listeners', () => {
    const recorded: string[] = [];
    const e = recordingEnforcer({
      policy,
      agentName: 'gw',
      recorder: { recordDecision: (ev) => void recorded.push(ev.decision.id) },
    });
    const { decision, args } = e.refuse({ tool: 'search', args: { q: 1 }, user: alice }, 'tool definition changed');
    expect(decision).toMatchObject({
      outcome: 'deny',
      effective: 'deny',
      reason: 'tool definition changed',
      userId: 'alice',
      agentName: 'gw',
      policyDigest: policy.digest,
    });
    expect(args).toEqual({ q: 1 });
    expect(e.decisions.map((d) => d.decision.id)).toEqual([decision.id]);
    expect(recorded).toEqual([decision.id]);
  });
});

describe('preview', () => {
  it('returns what decide would make effective, and reports nothing', () => {
    const e = recordingEnforcer({ policy, recorder: { recordDecision: () => 'should not be called' } });
    expect(e.preview({ tool: 'wire', args: { amount: 1 }, user: alice })).toBe('approval_required');
    expect(e.preview({ tool: 'refund', args: '{"amount":1,"amount":2}', user: alice })).toBe('deny');
    expect(e.preview({ tool: 'search', args: {} })).toBe('allow');
    expect(e.decisions).toHaveLength(0);
    const shadow = createEnforcer({ policy, mode: 'shadow' });
    expect(shadow.preview({ tool: 'delete', args: {}, user: { id: 's', roles: ['support'] } })).toBe('allow');
  });
});

describe('a failing policy provider', () => {
  it('denies every call instead of throwing, in every method', () => {
    const e = createEnforcer({
      policy: {
        currentPolicy: () => {
          throw new Error('backend down');
        },
      },
    });
    expect(e.decide({ tool: 'search', args: {} }).decision).toMatchObject({
      outcome: 'deny',
      reason: 'no usable policy: the policy provider failed: backend down',
    });
    expect(e.preview({ tool: 'search', args: {} })).toBe('deny');
    expect(e.refuse({ tool: 'search', args: {} }, 'x').decision.outcome).toBe('deny');
    expect(e.couldCall('search')).toBe(false);
    expect(e.explain({ tool: 'search', args: {} }).outcome).toBe('deny');
    expect(e.currentPolicy()).toBeUndefined();
  });

  it('a provider answering anything but a loaded Policy or an error denies, in every method', () => {
    const fake = { digest: 'd', evaluate: () => ({ outcome: 'ALLOW', reason: 'x', violations: [], role: 'r' }) };
    const loaded = testPolicy('tools:\n  search: { mode: allow }\n');
    const answers: unknown[] = [
      'x',
      {},
      { policy: null },
      { policy: fake },
      null,
      { policy: loaded, error: 'stale' },
      { policy: loaded, error: undefined },
    ];
    const throwers: unknown[] = [Object.create(null), Symbol('down')];
    const providers = [
      ...answers.map((a) => ({ currentPolicy: () => a })),
      ...throwers.map((t) => ({
        currentPolicy: () => {
          throw t;
        },
      })),
    ];
    for (const provider of providers) {
      const e = createEnforcer({ policy: provider as never });
      expect(e.decide({ tool: 'search', args: {} }).decision.effective).toBe('deny');
      expect(e.preview({ tool: 'search', args: {} })).toBe('deny');
      expect(e.refuse({ tool: 'search', args: {} }, 'x').decision.outcome).toBe('deny');
      expect(e.couldCall('search')).toBe(false);
      expect(e.explain({ tool: 'search', args: {} }).outcome).toBe('deny');
      expect(e.currentPolicy()).toBeUndefined();
    }
  });

  it('a policy from another copy of @hexgate/core is accepted (recognised by its brand, not instanceof)', async () => {
    // A query string makes the module loader evaluate a second, independent copy.
    const second = './index.ts?copy=policy';
    const copy = (await import(/* @vite-ignore */ second)) as typeof import('./index.ts');
    const foreign = copy.parsePolicy('tools:\n  search: { mode: allow }\n');
    expect(createEnforcer({ policy: foreign }).decide({ tool: 'search', args: {} }).decision.outcome).toBe('allow');
  });
});

describe('misbehaving listeners, recorders, options and calls never make decide throw, and never allow more', () => {
  const allowAll = testPolicy('tools:\n  t: { mode: allow }\n');
  const oddThrows: [string, () => never][] = [
    [
      'a Symbol',
      () => {
        throw Symbol('x');
      },
    ],
    [
      'an Object.create(null)',
      () => {
        throw Object.create(null);
      },
    ],
    [
      'an object whose message getter throws',
      () => {
        throw {
          get message(): string {
            throw new Error('boom');
          },
        };
      },
    ],
  ];

  it.each(oddThrows)('onDecision, onApproval or the recorder throwing %s', (_what, thrower) => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const listening = createEnforcer({ policy: allowAll, onDecision: thrower, onApproval: thrower });
    const { decision, args } = listening.decide({ tool: 't', args: {} });
    expect(decision.effective).toBe('allow');
    expect(() => listening.reportApproval({ status: 'approved', decision, args })).not.toThrow();
    const recording = createEnforcer({
      policy: allowAll,
      recorder: { recordDecision: thrower, recordApproval: thrower },
    });
    const recorded = recording.decide({ tool: 't', args: {} });
    expect(recorded.decision).toMatchObject({
      effective: 'deny',
      reason: expect.stringMatching(/^audit unavailable: /),
    });
    expect(() => recording.reportApproval({ status: 'approved', decision, args })).not.toThrow();
    warn.mockRestore();
  });

  it('an async listener or recorder that rejects becomes a warning, not an unhandled rejection', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const fail = async () => {
      throw new Error('sink down');
    };
    const e = createEnforcer({
      policy: allowAll,
      onDecision: fail,
      onApproval: fail,
      recorder: { recordDecision: fail as never, recordApproval: fail },
    });
    const { decision, args } = e.decide({ tool: 't', args: {} });
    // A recorder must answer synchronously: a promise is not an acceptance.
    expect(decision).toMatchObject({ effective: 'deny', reason: 'audit unavailable: the recorder refused the record' });
    e.reportApproval({ status: 'approved', decision, args });
    await new Promise((r) => setTimeout(r, 0));
    const warnings = warn.mock.calls.map((c) => String(c[0]));
    expect(warnings.filter((w) => w.includes('failed asynchronously: sink down'))).toHaveLength(4);
    warn.mockRestore();
  });

  it.each([true, false, null, 0, {}, ''])(
    'a recorder refusing with %j denies with a reason the model-facing text can render',
    (value) => {
      const e = createEnforcer({ policy: allowAll, recorder: { recordDecision: () => value as never } });
      const { decision } = e.decide({ tool: 't', args: {} });
      expect(decision).toMatchObject({
        effective: 'deny',
        reason: 'audit unavailable: the recorder refused the record',
      });
      expect(decisionText(decision)).toMatch(/^\[policy_denied\] /);
    },
  );

  it('argsLimits that would silently lift a limit are refused at construction', () => {
    for (const bad of [
      { maxDepth: Number.NaN },
      { maxBytes: Number(process.env.HEXGATE_TEST_UNSET_LIMIT) },
      { maxNodes: 0 },
      { maxDepth: 1.5 },
      { maxDepth: 1e9 },
      { maxBytes: '100' },
    ]) {
      expect(() => createEnforcer({ policy: allowAll, argsLimits: bad as never }), JSON.stringify(bad)).toThrow(
        InvalidOptionsError,
      );
    }
    // undefined keeps the default: 1000 levels of nesting are still refused.
    const e = createEnforcer({ policy: allowAll, argsLimits: { maxDepth: undefined } as never });
    const deep = `{"a":${'['.repeat(1000)}${']'.repeat(1000)}}`;
    expect(e.decide({ tool: 't', args: deep }).decision.effective).toBe('deny');
  });

  it('a deny reason for unparsable JSON never quotes the arguments (it reaches the model, the audit trail and traces)', () => {
    const e = createEnforcer({ policy: allowAll });
    const { decision } = e.decide({ tool: 't', args: '{"user":"bob","password": hunter2}' });
    expect(decision).toMatchObject({
      effective: 'deny',
      reason: 'invalid arguments: not valid JSON (Unexpected token)',
    });
    expect(e.decide({ tool: 't', args: '{"a":1' }).decision.reason).toBe(
      "invalid arguments: not valid JSON (Expected ',' or '}' after property value at position 6)",
    );
  });

  it('a tool name longer than any framework allows is denied and recorded cut', () => {
    const e = createEnforcer({ policy: testPolicy('default_policy: { mode: allow }\n') });
    const long = `t${'x'.repeat(5000)}`;
    const { decision } = e.decide({ tool: long, args: {} });
    expect(decision).toMatchObject({ effective: 'deny', reason: 'tool name longer than 256 characters' });
    expect(decision.tool.length).toBeLessThan(300);
    expect(e.decide({ tool: 'x'.repeat(256), args: {} }).decision.effective).toBe('allow');
  });

  it('a call that cannot be read, or a tool name that cannot be printed, is a deny', () => {
    const e = createEnforcer({ policy: allowAll });
    const unprintable = e.decide({ tool: Object.create(null), args: {} }).decision;
    expect(unprintable).toMatchObject({ effective: 'deny', tool: '<invalid tool name>', reason: 'invalid tool name' });
    const throwing = {
      tool: 't',
      args: {},
      get user(): never {
        throw new Error('session store down');
      },
    };
    expect(e.decide(throwing).decision).toMatchObject({
      effective: 'deny',
      reason: 'the call could not be read: session store down',
    });
    expect(e.preview(throwing)).toBe('deny');
    expect(e.decide(undefined as never).decision.effective).toBe('deny');
  });
});

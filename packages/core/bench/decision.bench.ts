/**
 * `pnpm bench` for @hexgate/core: decision latency on an 8-call mix, side by
 * side with (a) a hand-written closure deciding the same policy (the floor),
 * (a') the same closure reading only own properties (what the fail-closed
 * rules require of any decider) and (b) cedar-wasm with a pre-parsed policy set; the full enforcer path from
 * a JSON string; and policy load time for 10 / 100 / 1000 tools.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Bench } from 'tinybench';
import { createEnforcer, type Policy, parsePolicy, type User } from '../src/index.ts';

const policy = parsePolicy(readFileSync(join(import.meta.dirname, 'bench-policy.yaml'), 'utf8'));
const enforcer = createEnforcer({ policy, agentName: 'bench' });

const billing: User = { id: 'alice', roles: ['billing'], attributes: { region: 'EU' } };
const support: User = { id: 'bob', roles: ['support'] };
const anon: User = { id: 'eve' };

// The 8-call mix: allowed, denied by constraint, denied by default, approval.
const MIX: { user: User; tool: string; json: string; expect: string }[] = [
  { user: billing, tool: 'refund_order', json: '{"amount":200,"currency":"USD"}', expect: 'allow' },
  { user: billing, tool: 'refund_order', json: '{"amount":900,"currency":"USD"}', expect: 'deny' },
  { user: billing, tool: 'refund_order', json: '{"amount":20,"currency":"GBP"}', expect: 'deny' },
  { user: billing, tool: 'drop_table', json: '{"name":"orders"}', expect: 'deny' },
  {
    user: billing,
    tool: 'wire_transfer',
    json: '{"amount":5000,"iban":"DE89370400440532013000"}',
    expect: 'approval_required',
  },
  { user: anon, tool: 'get_order', json: '{"order_id":"A-1"}', expect: 'allow' },
  { user: support, tool: 'refund_order', json: '{"amount":50,"currency":"USD"}', expect: 'approval_required' },
  { user: support, tool: 'delete_order', json: '{"order_id":"A-1"}', expect: 'deny' },
];
const calls = MIX.map((c) => ({ ...c, args: Object.freeze(JSON.parse(c.json)) as Record<string, unknown> }));

// (a) The practical floor: the same policy, decided by hand.
type Args = Record<string, unknown>;
function handWritten(user: User, tool: string, args: Args): string {
  const role = user.roles?.[0] ?? 'default';
  if (tool === 'get_order') return 'allow';
  if (role === 'billing') {
    if (tool === 'refund_order') {
      const a = args.amount;
      const ok = typeof a === 'number' && a > 0 && a <= 500 && (args.currency === 'USD' || args.currency === 'EUR');
      return ok ? 'allow' : 'deny';
    }
    if (tool === 'wire_transfer') {
      const a = args.amount;
      return typeof a === 'number' && a <= 10000 && user.attributes?.region === 'EU' ? 'approval_required' : 'deny';
    }
    return 'deny';
  }
  if (role === 'support') {
    if (tool === 'refund_order')
      return typeof args.amount === 'number' && args.amount <= 100 ? 'approval_required' : 'deny';
    return 'deny';
  }
  return 'deny';
}

// (a') The same closure held to the rules every engine decision follows, and
// nothing more: only own properties count (a naive `args.amount` also reads an
// inherited, e.g. prototype-polluted, `amount`), attributes must be a plain
// object, numbers must be finite. The arguments are already validated plain
// data, so they need no prototype check. This is the floor for any decider
// that meets the fail-closed rules.
function own(o: Readonly<Record<string, unknown>>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}
function ownAttribute(user: User, k: string): unknown {
  const attrs = user.attributes;
  if (typeof attrs !== 'object' || attrs === null) return undefined;
  const proto = Object.getPrototypeOf(attrs);
  return proto === Object.prototype || proto === null ? own(attrs, k) : undefined;
}
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
function handWrittenOwn(user: User, tool: string, args: Args): string {
  const roles = user.roles;
  const role = roles !== undefined && roles.length === 1 ? roles[0] : 'default';
  if (tool === 'get_order') return 'allow';
  if (role === 'billing') {
    if (tool === 'refund_order') {
      const a = own(args, 'amount');
      const c = own(args, 'currency');
      return finite(a) && a > 0 && a <= 500 && (c === 'USD' || c === 'EUR') ? 'allow' : 'deny';
    }
    if (tool === 'wire_transfer') {
      const a = own(args, 'amount');
      return finite(a) && a <= 10000 && ownAttribute(user, 'region') === 'EU' ? 'approval_required' : 'deny';
    }
    return 'deny';
  }
  if (role === 'support') {
    if (tool === 'refund_order') {
      const a = own(args, 'amount');
      return finite(a) && a <= 100 ? 'approval_required' : 'deny';
    }
    return 'deny';
  }
  return 'deny';
}

// (b) cedar-wasm: the same policy in Cedar, pre-parsed once.
const CEDAR_POLICIES: Record<string, string> = {
  ro: 'permit(principal, action == Action::"get_order", resource);',
  'billing-refund': `permit(principal in Role::"billing", action == Action::"refund_order", resource)
    when { context.args has amount && context.args.amount > 0 && context.args.amount <= 500 && context.args has currency && ["USD", "EUR"].contains(context.args.currency) };`,
  'approve-billing-wire': `permit(principal in Role::"billing", action == Action::"wire_transfer", resource)
    when { context.args has amount && context.args.amount <= 10000 && context.ctx has region && context.ctx.region == "EU" };`,
  'approve-support-refund': `permit(principal in Role::"support", action == Action::"refund_order", resource)
    when { context.args has amount && context.args.amount <= 100 };`,
};
const pre = cedar.preparsePolicySet('bench', { staticPolicies: CEDAR_POLICIES });
if (pre.type !== 'success') throw new Error(`cedar parse failed: ${JSON.stringify(pre)}`);
const cedarCalls = calls.map((c) => ({
  call: {
    principal: { type: 'User', id: c.user.id },
    action: { type: 'Action', id: c.tool },
    resource: { type: 'Tool', id: c.tool },
    context: { args: c.args, ctx: c.user.attributes ?? {} },
    preparsedPolicySetId: 'bench',
    entities: [
      {
        uid: { type: 'User', id: c.user.id },
        attrs: {},
        parents: (c.user.roles ?? []).map((r) => ({ type: 'Role', id: r })),
      },
      ...(c.user.roles ?? []).map((r) => ({ uid: { type: 'Role', id: r }, attrs: {}, parents: [] })),
    ],
  } as cedar.StatefulAuthorizationCall,
  expect: c.expect,
}));
function cedarDecide(call: cedar.StatefulAuthorizationCall): string {
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type !== 'success' || answer.response.decision !== 'allow') return 'deny';
  return answer.response.diagnostics.reason.every((id) => id.startsWith('approve-')) ? 'approval_required' : 'allow';
}

// Sanity: all three agree with the expected outcomes before anything is timed.
const engine = enforcer.currentPolicy() as Policy;
for (const [i, c] of calls.entries()) {
  const got = [
    engine.evaluate(c.tool, c.args, c.user).outcome,
    handWritten(c.user, c.tool, c.args),
    handWrittenOwn(c.user, c.tool, c.args),
    cedarDecide(cedarCalls[i]!.call),
    enforcer.decide({ tool: c.tool, args: c.json, user: c.user }).decision.outcome,
  ];
  if (got.some((g) => g !== c.expect)) throw new Error(`call ${i}: expected ${c.expect}, got ${got.join(' / ')}`);
}

const REPS = 25; // mix repetitions per timed iteration, so timer overhead is negligible
const perIteration = calls.length * REPS;
let sink = 0;
const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
bench
  .add('hand-written closure (floor)', () => {
    for (let r = 0; r < REPS; r++) for (const c of calls) sink += handWritten(c.user, c.tool, c.args).length;
  })
  .add('hand-written closure, own properties only', () => {
    for (let r = 0; r < REPS; r++) for (const c of calls) sink += handWrittenOwn(c.user, c.tool, c.args).length;
  })
  .add('hexgate engine (validated args)', () => {
    for (let r = 0; r < REPS; r++)
      for (const c of calls) sink += engine.evaluate(c.tool, c.args, c.user).outcome.length;
  })
  .add('hexgate enforcer (JSON string -> Decision)', () => {
    for (let r = 0; r < REPS; r++)
      for (const c of calls)
        sink += enforcer.decide({ tool: c.tool, args: c.json, user: c.user }).decision.outcome.length;
  });
const cedarBench = new Bench({ time: 1500, warmup: true, warmupTime: 300 });
cedarBench.add('cedar-wasm (pre-parsed policy set)', () => {
  for (const c of cedarCalls) sink += cedarDecide(c.call).length;
});

await bench.run();
await cedarBench.run();

const rows: Record<string, { median: number; p99: number }> = {};
for (const task of bench.tasks) {
  const l = task.result?.latency;
  if (!l) throw new Error(`no result for ${task.name}`);
  rows[task.name] = { median: (l.p50 * 1e6) / perIteration, p99: (l.p99 * 1e6) / perIteration };
}
for (const task of cedarBench.tasks) {
  const l = task.result?.latency;
  if (!l) throw new Error(`no result for ${task.name}`);
  rows[task.name] = { median: (l.p50 * 1e6) / calls.length, p99: (l.p99 * 1e6) / calls.length };
}

console.log(
  `\nDecision latency, 8-call mix (allowed / denied by constraint / denied by default / approval), ns per decision:`,
);
console.table(
  Object.fromEntries(
    Object.entries(rows).map(([k, v]) => [k, { 'median ns': Math.round(v.median), 'p99 ns': Math.round(v.p99) }]),
  ),
);
const floor = rows['hand-written closure (floor)']!;
const ownFloor = rows['hand-written closure, own properties only']!;
const eng = rows['hexgate engine (validated args)']!;
const full = rows['hexgate enforcer (JSON string -> Decision)']!;
const ced = rows['cedar-wasm (pre-parsed policy set)']!;
const check = (label: string, ok: boolean, detail: string) =>
  console.log(`${ok ? 'PASS' : 'MISS'}  ${label}: ${detail}`);
check(
  'engine within 3x of the hand-written closure',
  eng.median <= 3 * floor.median,
  `${(eng.median / floor.median).toFixed(2)}x`,
);
console.log(`      (the own-properties closure alone is ${(ownFloor.median / floor.median).toFixed(2)}x the floor)`);
check(
  'engine within 3x of the own-properties closure',
  eng.median <= 3 * ownFloor.median,
  `${(eng.median / ownFloor.median).toFixed(2)}x`,
);
check(
  'engine at least 200x faster than cedar-wasm',
  ced.median >= 200 * eng.median,
  `${(ced.median / eng.median).toFixed(0)}x`,
);
check('full enforcer path under 2 microseconds median', full.median < 2000, `${Math.round(full.median)} ns`);

// Policy load time is linear in size.
console.log('\nPolicy load (parse + validate + compile):');
const loadRows: Record<string, unknown> = {};
for (const n of [10, 100, 1000]) {
  const tools = Array.from(
    { length: n },
    (_, i) =>
      `      tool_${i}: { mode: allow, constraints: ["args.amount <= ${i}", "args.currency in consts.currencies"] }`,
  ).join('\n');
  const yaml = `roles:\n  base:\n    is_mixin: true\n    consts: { currencies: ["USD"] }\n    tools:\n${tools}\n  default:\n    inherits: [base]\n`;
  const b = new Bench({ time: 1000, iterations: 5 });
  b.add(`${n} tools`, () => {
    sink += parsePolicy(yaml).digest.length;
  });
  await b.run();
  const ms = b.tasks[0]?.result?.latency.p50 ?? Number.NaN;
  loadRows[`${n} tools`] = { 'median ms': Number(ms.toFixed(2)), 'µs per tool': Number(((ms * 1000) / n).toFixed(1)) };
}
console.table(loadRows);
if (sink === 42) console.log('');

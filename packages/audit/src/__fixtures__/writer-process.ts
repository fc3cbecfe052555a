/**
 * A child process that records decisions into a real store, for the crash
 * and exit tests:
 *   node --conditions=@hexgate/source --import tsx writer-process.ts <sqlite|postgres|jsonl> <target> <mode>
 * mode `stream`: decides forever, printing `durable <seq>` after each committed batch (kill it).
 * mode `exit`:   decides 500 times, then calls process.exit(0) at once (the exit handler must flush).
 * mode `natural`: decides 500 times and returns (beforeExit must flush).
 */
import { createEnforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { type AuditSink, createAuditTrail, jsonlAudit, postgresAudit, sqliteAudit } from '../index.ts';

const [kind, target, mode] = process.argv.slice(2) as [string, string, string];
const sink: AuditSink =
  kind === 'sqlite' ? sqliteAudit(target) : kind === 'postgres' ? postgresAudit(target) : jsonlAudit(target);
const stream = mode === 'stream';
const trail = createAuditTrail({
  sink,
  batchSize: 250,
  // In exit tests nothing may be written before the end: only the exit hooks flush.
  flushIntervalMs: stream ? 2 : 60_000,
  onCommit: (c) => {
    if (stream) process.stdout.write(`durable ${c.lastSeq}\n`);
  },
});
const enforcer = createEnforcer({
  policy: testPolicy(`
    roles:
      default:
        tools:
          transfer:
            mode: allow
            constraints:
              - args.amount <= 900
  `),
  recorder: trail,
  agentName: 'crash-test',
});

let i = 0;
const decideSome = (n: number) =>
  runWithUser({ id: `user-${i % 13}`, roles: ['default'], attributes: { secret: 'x' } }, () => {
    for (let k = 0; k < n; k++)
      enforcer.decide({ tool: 'transfer', args: { amount: i++ % 1000, memo: 'm'.repeat(40) } });
  });

if (stream) {
  const loop = () => {
    // Only produce when the writer keeps up, so the test measures durability, not back-pressure.
    if (trail.stats().queued < 5_000) decideSome(100);
    setTimeout(loop, 0);
  };
  loop();
} else {
  decideSome(500);
  process.stdout.write('decided 500\n');
  if (mode === 'exit') process.exit(0);
}

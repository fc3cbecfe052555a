/**
 * Console output: one block per user, one line per tool call with its
 * decision (outcome, deciding role, reason), approvals as they happen, the
 * side effects that really ran, and the bot's reply.
 */
import type { ApprovalEvent, DecisionEvent, FrozenArgs, User } from '@hexgate/core';

export function createPrinter(write: (line: string) => void, color: boolean) {
  const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const bold = paint('1');
  const dim = paint('2');
  const red = paint('31');
  const green = paint('32');
  const yellow = paint('33');
  const cyan = paint('36');
  // Approval events carry an args hash, not the args: remember them from the decision.
  const argsOf = new Map<string, FrozenArgs | undefined>();

  const call = (tool: string, args: FrozenArgs | undefined) =>
    `${bold(tool.padEnd(14))} ${
      args
        ? Object.entries(args)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : dim('(invalid arguments)')
    }`;
  const why = (e: { decision: DecisionEvent['decision'] }) =>
    write(`                ${dim(`${e.decision.decidingRole ?? 'no role'} · ${e.decision.reason}`)}`);

  return {
    banner(mode: string, policy: string) {
      write(bold('hexgate × OpenAI Agents SDK: customer-support bot'));
      write(dim(`model:  ${mode}`));
      write(dim(`policy: ${policy}`));
      write(dim('one HexgateRunner and one agent serve every user; each tool call is decided for the user of the run'));
    },
    user(user: User, message: string) {
      const attributes = Object.entries(user.attributes ?? {}).map(([k, v]) => `${k} ${String(v)}`);
      const who = `${user.id} (${[...(user.roles ?? ['default']), ...attributes].join(' · ')})`;
      write('');
      write(cyan(`━━ ${who} ${'━'.repeat(Math.max(4, 66 - who.length))}`));
      write(`  ${bold('user ›')} ${message}`);
    },
    decision(e: DecisionEvent) {
      argsOf.set(e.decision.id, e.args);
      // approval_required decisions are shown by their approval events below.
      if (e.decision.outcome === 'approval_required') return;
      const label = e.decision.outcome === 'allow' ? green('✔ ALLOW   ') : red('✖ DENY    ');
      write(`  ${label}    ${call(e.decision.tool, e.args)}`);
      why(e);
    },
    approval(e: ApprovalEvent) {
      const args = argsOf.get(e.decision.id);
      if (e.status === 'requested') {
        write(`  ${yellow('⏸ APPROVAL')}    ${call(e.decision.tool, args)}`);
        why(e);
      } else if (e.status === 'approved') {
        write(
          `  ${green('✔ APPROVED')}    ${call(e.decision.tool, args)} ${dim('→ runs with the approved arguments')}`,
        );
      } else {
        const label = red(`✖ ${e.status.toUpperCase()}`.padEnd(10));
        write(
          `  ${label}    ${call(e.decision.tool, args)} ${dim('→ not run; the model is told [approval_required]')}`,
        );
      }
    },
    paused(count: number, bytes: number) {
      write(
        dim(`    run paused: ${count} call(s) wait for a human · RunState saved (${(bytes / 1024).toFixed(1)} kB)`),
      );
    },
    reviewer(tool: string, approve: boolean, reason: string) {
      write(`    ${bold('reviewer')} ${approve ? green('approves') : red('rejects')} ${tool}: ${dim(reason)}`);
    },
    resumed() {
      write(dim('    run restored from the saved state and resumed'));
    },
    effect(line: string) {
      write(`    ${dim('⚙')} ${line}`);
    },
    reply(text: string) {
      const [first, ...rest] = text.split('\n');
      write(`  ${bold('bot  ›')} ${first}`);
      for (const line of rest) write(`         ${line}`);
    },
  };
}

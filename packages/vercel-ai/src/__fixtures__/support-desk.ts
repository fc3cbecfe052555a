/**
 * Test support: a small support-desk policy and tools that record how they
 * were called (arguments, whether frozen, and the user in scope).
 */
import { tryGetUser } from '@hexgate/core';
import { type RecordingEnforcer, recordingEnforcer, testPolicy } from '@hexgate/core/testing';
import { type Tool, tool } from 'ai';
import { z } from 'zod';

export const policy = testPolicy(`
  roles:
    default:
      tools:
        get_order: { mode: allow }
    support:
      inherits: [default]
      tools:
        connect_db: { mode: allow } # the traced desk's tool whose arguments carry a secret
        refund_order:
          mode: approval_required
          constraints:
            - args.amount <= 100
    billing:
      inherits: [default]
      tools:
        refund_order:
          mode: allow
          constraints:
            - args.amount <= 500
`);

export interface Execution {
  readonly tool: string;
  readonly args: unknown;
  readonly frozen: boolean;
  readonly userId: string | undefined;
}

export type DeskTools = Record<'get_order' | 'refund_order' | 'delete_account', Tool>;

export interface DeskOptions {
  readonly mode?: 'enforce' | 'shadow';
}

/** A recording enforcer of the desk policy for the agent `support-bot`. */
export function deskEnforcer(options: DeskOptions = {}): RecordingEnforcer {
  return recordingEnforcer({ policy, agentName: 'support-bot', ...options });
}

export function supportDesk(options: DeskOptions = {}): {
  tools: DeskTools;
  executions: Execution[];
  enforcer: RecordingEnforcer;
} {
  const executions: Execution[] = [];
  const record = (name: string, args: object) =>
    executions.push({
      tool: name,
      args: structuredClone(args),
      frozen: Object.isFrozen(args),
      userId: tryGetUser()?.id,
    });
  const tools: DeskTools = {
    get_order: tool({
      description: 'Look up an order',
      inputSchema: z.object({ order_id: z.string() }),
      execute: async (args) => {
        record('get_order', args);
        return `order ${args.order_id}: shipped`;
      },
    }),
    refund_order: tool({
      description: 'Refund an order',
      inputSchema: z.object({ order_id: z.string(), amount: z.number() }),
      execute: async (args) => {
        record('refund_order', args);
        return `refunded ${args.amount} on ${args.order_id}`;
      },
    }),
    delete_account: tool({
      description: 'Delete a customer account',
      inputSchema: z.object({ account: z.string() }),
      execute: async (args) => {
        record('delete_account', args);
        return 'deleted';
      },
    }),
  };
  return { tools, executions, enforcer: deskEnforcer(options) };
}

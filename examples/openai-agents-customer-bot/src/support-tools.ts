/**
 * The bot's three tools, on a tiny in-memory back office. They know nothing
 * about policies: hexgate decides every call before it reaches them.
 */
import { tool } from '@openai/agents';
import { z } from 'zod';

const ORDERS: Record<string, { item: string; total: number; status: string }> = {
  'A-1001': { item: 'espresso machine', total: 129, status: 'delivered' },
  'A-1002': { item: 'standing desk', total: 640, status: 'delivered' },
};

/** `onEffect` is told about every side effect that really happened. */
export function createSupportTools(onEffect: (line: string) => void) {
  const getOrder = tool({
    name: 'get_order',
    description: 'Look up an order by id.',
    parameters: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => {
      const order = ORDERS[order_id];
      return order ? `${order_id}: ${order.item}, ${order.total} EUR, ${order.status}` : `no order ${order_id}`;
    },
  });

  const refundOrder = tool({
    name: 'refund_order',
    description: 'Refund part or all of an order to the original payment method.',
    parameters: z.object({ order_id: z.string(), amount: z.number(), currency: z.string() }),
    execute: async ({ order_id, amount, currency }) => {
      onEffect(`refunded ${amount} ${currency} on ${order_id}`);
      return `refund of ${amount} ${currency} on ${order_id} issued`;
    },
  });

  const wireTransfer = tool({
    name: 'wire_transfer',
    description: 'Send money by bank wire to an IBAN.',
    parameters: z.object({ amount: z.number(), currency: z.string(), iban: z.string() }),
    execute: async ({ amount, currency, iban }) => {
      onEffect(`wired ${amount} ${currency} to ${iban}`);
      return `wire of ${amount} ${currency} to ${iban} sent`;
    },
  });

  return [getOrder, refundOrder, wireTransfer];
}

/**
 * `hexgateModelMiddleware(options)`: a language-model middleware that
 *   - hides from the model the tools the user in scope can never call
 *     (`enforcer.couldCall`), so it is not tempted. This is a courtesy, never
 *     the enforcement: hidden or not, every call still goes through the gate;
 *   - reports approvals the user refused. The SDK resolves a refused approval
 *     without calling any tool hook, but the refusal reaches the model as an
 *     `execution-denied` result, so the model call is where it can be seen.
 * It runs at every model call, inside the run, so it sees the user bound
 * with `runWithUser` for that request even when the agent is built once.
 */
import { tryGetUser } from '@hexgate/core';
import type { LanguageModelMiddleware } from 'ai';
import { closeRefused } from './gate-call.ts';
import { checkOptions, type HexgateAiOptions } from './options.ts';

export interface HexgateModelMiddlewareOptions extends HexgateAiOptions {
  /** Remove tools the user can never call from what the model sees. Default `true`. */
  readonly hideTools?: boolean;
}

export function hexgateModelMiddleware(options: HexgateModelMiddlewareOptions): LanguageModelMiddleware {
  checkOptions(options, 'hexgateModelMiddleware');
  return {
    transformParams: async ({ params }) => {
      const user = tryGetUser();
      await closeRefused(options, params.prompt, user?.id);
      if (options.hideTools === false || !params.tools) return params;
      try {
        return { ...params, tools: params.tools.filter((tool) => options.enforcer.couldCall(tool.name, user)) };
      } catch {
        // Fail closed: when the policy cannot say, the model gets no tools.
        return { ...params, tools: [] };
      }
    },
  };
}

// Fixtures for the local shell, apply_patch and computer tools: real executors
// that record what they ran (and for whom), the model output items that make
// the SDK run them, and a policy for them.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { tryGetUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import {
  type ApplyPatchOperation,
  applyDiff,
  type Computer,
  type Editor,
  type ModelResponse,
  type RunContext,
  type Shell,
  type ShellAction,
  type ShellOutputResult,
} from '@openai/agents';
import type { ScriptedModel } from '@openai/agents/testing';

const execFileAsync = promisify(execFile);

export const LOCAL_POLICY = `
roles:
  dev:
    tools:
      shell:
        mode: allow
        constraints:
          - 'every(args.commands, startswith(., "echo "))'
      apply_patch:
        mode: allow
        constraints:
          - 'startswith(args.path, "src/")'
      computer_use_preview:
        mode: allow
        constraints:
          - 'args.type in ["click", "move", "screenshot"]'
      worker: { mode: allow } # an agent used as a tool
  ops:
    tools:
      shell:
        mode: approval_required
        constraints:
          - 'every(args.commands, startswith(., "echo "))'
      apply_patch: { mode: approval_required }
      computer_use_preview: { mode: approval_required }
`;

export const dana = { id: 'dana', roles: ['dev'] };
export const olga = { id: 'olga', roles: ['ops'] };
/** No role of the policy: the `default` role, which the policy does not have, so everything is denied. */
export const guest = { id: 'gus', roles: [] };

export function localEnforcer() {
  return recordingEnforcer({ policy: LOCAL_POLICY });
}

export async function tempDir(): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hexgate-local-tools-'));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

type Output = ModelResponse['output'][number];

export function shellCall(callId: string, commands: string[]): Output {
  return { type: 'shell_call', callId, status: 'completed', action: { commands } };
}

export function patchCall(callId: string, operation: ApplyPatchOperation): Output {
  return { type: 'apply_patch_call', callId, status: 'completed', operation };
}

export function computerCall(callId: string, actions: Record<string, unknown>[]): Output {
  return { type: 'computer_call', callId, status: 'completed', actions } as Output;
}

export interface ShellRun {
  readonly action: ShellAction;
  readonly user: string | undefined;
}

/** A real shell: every command runs in `sh -c` in `cwd`; records each action it was given and the user in scope. */
export function recordingShell(cwd: string) {
  const runs: ShellRun[] = [];
  const shell: Shell = {
    async run(action) {
      runs.push({ action, user: tryGetUser()?.id });
      const output: ShellOutputResult[] = [];
      for (const command of action.commands) {
        try {
          const { stdout, stderr } = await execFileAsync('/bin/sh', ['-c', command], { cwd });
          output.push({ stdout, stderr, outcome: { type: 'exit', exitCode: 0 } });
        } catch (e) {
          const err = e as { stdout?: string; stderr?: string; code?: number };
          output.push({
            stdout: err.stdout ?? '',
            stderr: err.stderr ?? '',
            outcome: { type: 'exit', exitCode: err.code ?? 1 },
          });
        }
      }
      return { output };
    },
  };
  return { shell, runs };
}

/** A real editor over `root`: applies V4A diffs with the SDK's `applyDiff`; records each operation. */
export function recordingEditor(root: string) {
  const operations: ApplyPatchOperation[] = [];
  const at = (path: string) => join(root, path);
  const editor: Editor = {
    async createFile(operation) {
      operations.push(operation);
      await mkdir(dirname(at(operation.path)), { recursive: true });
      await writeFile(at(operation.path), applyDiff('', operation.diff, 'create'));
      return { status: 'completed', output: `created ${operation.path}` };
    },
    async updateFile(operation) {
      operations.push(operation);
      await writeFile(at(operation.path), applyDiff(await readFile(at(operation.path), 'utf8'), operation.diff));
      return { status: 'completed', output: `updated ${operation.path}` };
    },
    async deleteFile(operation) {
      operations.push(operation);
      await rm(at(operation.path));
      return { status: 'completed', output: `deleted ${operation.path}` };
    },
  };
  return { editor, operations };
}

export const SCREEN = 'c2NyZWVu'; // what the recording computer's screenshot returns

/** A computer that records each method call (name, arguments, the user carried by the run or in scope). */
export function recordingComputer(): { computer: Computer; actions: unknown[][]; users: (string | undefined)[] } {
  const actions: unknown[][] = [];
  const users: (string | undefined)[] = [];
  const note =
    (name: string) =>
    (...args: unknown[]) => {
      const runContext = args.at(-1) as RunContext<{ user?: { id: string } }> | undefined;
      actions.push([name, ...args.slice(0, -1)]);
      users.push(tryGetUser()?.id ?? runContext?.context?.user?.id);
    };
  const computer: Computer = {
    environment: 'browser',
    dimensions: [1024, 768],
    screenshot: async () => SCREEN,
    click: note('click'),
    doubleClick: note('doubleClick'),
    scroll: note('scroll'),
    type: note('type'),
    wait: note('wait'),
    move: note('move'),
    keypress: note('keypress'),
    drag: note('drag'),
  };
  return { computer, actions, users };
}

/** The output item the model received for call `callId` (shell, apply_patch or computer), from any later request. */
export function localOutputSeenByModel(model: ScriptedModel, callId: string): Record<string, any> | undefined {
  for (const call of model.calls) {
    const input = call.request.input;
    if (!Array.isArray(input)) continue;
    const found = (input as Record<string, any>[]).find(
      (item) => item.callId === callId && /_output$|_result$/.test(item.type),
    );
    if (found) return found;
  }
  return undefined;
}

/** The messages the model received after the run started (the SDK adds one for a rejected computer call). */
export function messagesSeenByModel(model: ScriptedModel): string[] {
  const last = model.calls.at(-1)?.request.input;
  if (!Array.isArray(last)) return [];
  return (last as Record<string, any>[])
    .filter((item) => item.type === 'message' && item.role === 'assistant')
    .map((item) =>
      Array.isArray(item.content) ? item.content.map((c: { text?: string }) => c.text).join('') : item.content,
    );
}

/**
 * Tool pinning (defence against tool poisoning and "rug pulls"): the first
 * time a tool's definition is seen, a sha256 of what the model and the client
 * read from it is pinned. If the server later serves a different definition
 * for that name, the tool is hidden from tools/list and calls to it are
 * denied until an operator accepts the change.
 *
 * Accepting a change: with a pin file, put the new hash (it is printed on
 * stderr and in the denial) under the tool's name, or delete the entry to
 * re-pin on next sight. The file is re-read on every mismatch, so no restart
 * is needed. Without a pin file, pins live for the proxy process only.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { canonicalJson, InvalidOptionsError, sha256Hex } from '@hexgate/core';

/** The parts of a tool definition that are pinned: what the model reads and what clients act on. */
export interface PinnedToolFields {
  readonly name: string;
  readonly title?: unknown;
  readonly description?: unknown;
  readonly inputSchema?: unknown;
  readonly outputSchema?: unknown;
  readonly annotations?: unknown;
  /** Shown to the user by clients that render them. */
  readonly icons?: unknown;
  /** Clients act on it: MCP Apps' `ui.resourceUri`, the Apps SDK's `openai/outputTemplate`, status texts. */
  readonly _meta?: unknown;
}

export type PinCheck =
  | { readonly ok: true; readonly hash: string; readonly firstSeen: boolean }
  | { readonly ok: false; readonly hash: string; readonly pinned: string };

/** sha256 (hex) of the canonical JSON of a tool's pinned fields. */
export function toolDefinitionHash(tool: PinnedToolFields): string {
  const field = (v: unknown) => (v === undefined ? null : v);
  return sha256Hex(
    canonicalJson({
      title: field(tool.title),
      description: field(tool.description),
      inputSchema: field(tool.inputSchema),
      outputSchema: field(tool.outputSchema),
      annotations: field(tool.annotations),
      // Added later, so only when present: the pins of tools without them keep their hash.
      // Without them a server could swap the UI a client renders for a tool (or its icon) after it was pinned.
      ...(tool.icons !== undefined ? { icons: tool.icons } : {}),
      ...(tool._meta !== undefined ? { _meta: tool._meta } : {}),
    }),
  );
}

interface PinFile {
  readonly version: 1;
  readonly tools: Record<string, string>;
}

export class ToolPins {
  readonly #file: string | undefined;
  #pins: Map<string, string>;

  /** @param file JSON pin file (`{ "version": 1, "tools": { "<name>": "<sha256>" } }`); created when missing. */
  constructor(file?: string) {
    this.#file = file;
    this.#pins = file ? readPins(file) : new Map();
  }

  /** Checks a definition against its pin, pinning it when the tool was never seen. */
  check(tool: PinnedToolFields): PinCheck {
    const hash = toolDefinitionHash(tool);
    let pinned = this.#pins.get(tool.name);
    if (pinned !== undefined && pinned !== hash && this.#file) {
      // An operator may have accepted the change in the file since it was read.
      this.#pins = readPins(this.#file);
      pinned = this.#pins.get(tool.name);
    }
    if (pinned === undefined) {
      this.#pins.set(tool.name, hash);
      this.#save();
      return { ok: true, hash, firstSeen: true };
    }
    return pinned === hash ? { ok: true, hash, firstSeen: false } : { ok: false, hash, pinned };
  }

  #save(): void {
    if (!this.#file) return;
    const body: PinFile = {
      version: 1,
      tools: Object.fromEntries([...this.#pins].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
    // Write-then-rename, so a reader never sees a half-written file.
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
    renameSync(tmp, this.#file);
  }
}

function readPins(file: string): Map<string, string> {
  if (!existsSync(file)) return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidOptionsError(`pin file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const tools = (parsed as Partial<PinFile> | null)?.tools;
  if (typeof tools !== 'object' || tools === null || Array.isArray(tools)) {
    throw new InvalidOptionsError(
      `pin file ${file} must look like { "version": 1, "tools": { "<tool>": "<sha256>" } }`,
    );
  }
  const pins = new Map<string, string>();
  for (const [name, hash] of Object.entries(tools)) {
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
      throw new InvalidOptionsError(`pin file ${file}: the pin for '${name}' is not a sha256 hex digest`);
    }
    pins.set(name, hash);
  }
  return pins;
}

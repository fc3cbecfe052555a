/**
 * Reads one YAML policy file with the `yaml` library, which gives source
 * positions for every node, rejects duplicate keys, and caps alias expansion
 * (a "billion laughs" alias bomb is an error, not a hang).
 *
 * A policy is plain JSON data written in YAML, and anything YAML would
 * otherwise resolve quietly is an error here: every parser warning (an
 * unknown tag, an unknown directive), the YAML 1.1 tags that make non-JSON
 * values (!!binary, !!set, !!timestamp, !!omap, !!pairs), keys written as
 * aliases or collections, and keys that only differ before conversion (`~`
 * and `""`).
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, Scalar } from 'yaml';
import type { PolicyIssue } from '../errors.ts';

/** Alias expansions allowed while converting a document (yaml's own guard). */
export const MAX_ALIAS_COUNT = 100;

/**
 * Nesting allowed in a policy document. Loading and deciding recurse over the
 * values, so an unbounded document could overflow the stack; real policies
 * need about six levels plus the depth of their constants.
 */
export const MAX_YAML_DEPTH = 64;

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface YamlFile {
  readonly file: string;
  readonly value: unknown;
  /** Position of the value at `path`, or of the key `key` inside the map at `path`. */
  locate(path: readonly (string | number)[], key?: string): Position;
  /** Position of the key that names the value at `path` (e.g. a role's name), or of the value itself. */
  locateKey(path: readonly (string | number)[]): Position;
  /** Position of a character `offset` inside the string scalar at `path`. */
  locateInString(path: readonly (string | number)[], offset: number): Position;
}

export function readYaml(file: string, text: string, issues: PolicyIssue[]): YamlFile | undefined {
  const lines = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter: lines,
      uniqueKeys: false,
      schema: 'core',
      // The YAML 1.1 types (binary, set, timestamp, omap, pairs) are not JSON:
      // unresolved, their tags become warnings, which are errors below.
      resolveKnownTags: false,
      prettyErrors: false,
      strict: true,
    });
  } catch (e) {
    // yaml's parser recurses per nesting level; a deep enough document overflows the stack.
    issues.push({
      file,
      line: 1,
      column: 1,
      message: `cannot parse the YAML: ${e instanceof Error ? e.message : String(e)}`,
      hint: `a policy may nest at most ${MAX_YAML_DEPTH} levels deep`,
    });
    return undefined;
  }
  const before = issues.length;
  for (const e of doc.errors) {
    // With prettyErrors off, yaml leaves linePos unset: compute it from the offset.
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    const message = e.message.split('\n')[0] ?? e.message;
    issues.push({ file, line: pos?.line ?? 1, column: pos?.col ?? 1, message: `YAML syntax error: ${message}` });
  }
  // Warnings are errors: yaml warns and then loads the plain value (an
  // unresolved `!deny allow` loads as "allow"), which is the silent
  // reinterpretation a policy must never get.
  for (const w of doc.warnings) {
    const pos = w.linePos?.[0] ?? lines.linePos(w.pos[0]);
    const message = w.message.split('\n')[0] ?? w.message;
    const hint =
      w.code === 'TAG_RESOLVE_FAILED'
        ? 'a policy is plain JSON data: remove the tag (only !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are allowed, and only on values they fit)'
        : w.code === 'BAD_DIRECTIVE'
          ? 'remove the directive'
          : 'YAML warnings are errors in a policy';
    issues.push({ file, line: pos?.line ?? 1, column: pos?.col ?? 1, message: `YAML: ${message}`, hint });
  }
  // One walk over the document indexes every node's position by its path
  // (lookups are then O(1); yaml's getIn scans maps linearly, which made
  // loading quadratic) and finds duplicate keys, pointing at the second key
  // itself (the parser's own check is off because it points at the map).
  const index = new Map<string, { readonly node: Node; readonly key?: Node }>();
  const pathKey = (path: readonly (string | number)[]) => path.join('\u0000');
  const issueAt = (offset: number, message: string, hint: string) => {
    const pos = lines.linePos(offset);
    issues.push({ file, line: pos.line, column: pos.col, message, hint });
  };
  const walk = (node: unknown, path: (string | number)[], depth: number): void => {
    if ((isMap(node) || isSeq(node)) && depth >= MAX_YAML_DEPTH) {
      issueAt(
        node.range?.[0] ?? 0,
        `the document is nested more than ${MAX_YAML_DEPTH} levels deep`,
        'flatten this value; no policy needs it this deep',
      );
      return;
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as unknown;
        // A key must be written out: an alias key (`*k : ...`) can repeat
        // another key unnoticed, and a collection key is stringified by toJS.
        if (isAlias(key)) {
          issueAt(key.range?.[0] ?? 0, 'a key cannot be an alias', `write the key itself instead of *${key.source}`);
          continue;
        }
        if (key !== null && !isScalar(key)) {
          const start = (key as Node).range?.[0] ?? node.range?.[0] ?? 0;
          issueAt(start, 'a key must be a string, not a list or a mapping', 'write the key as plain text');
          continue;
        }
        // The name toJS gives the key: a null key (`~`, `null`, or nothing) is ''.
        const value = isScalar(key) ? key.value : null;
        const name = value === null || value === undefined ? '' : String(value);
        if (seen.has(name)) {
          issueAt(
            (isScalar(key) ? key.range?.[0] : undefined) ?? (pair.value as Node | null)?.range?.[0] ?? 0,
            `duplicate key '${name}'`,
            'each key may appear once; merge the two entries',
          );
        }
        seen.add(name);
        const child = [...path, name];
        const keyNode = (key ?? undefined) as Node | undefined;
        if (pair.value && typeof pair.value === 'object' && 'range' in pair.value) {
          index.set(pathKey(child), { node: pair.value as Node, ...(keyNode ? { key: keyNode } : {}) });
        } else if (keyNode) {
          index.set(pathKey(child), { node: keyNode, key: keyNode });
        }
        walk(pair.value, child, depth + 1);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const child = [...path, i];
        if (item && typeof item === 'object' && 'range' in item) index.set(pathKey(child), { node: item as Node });
        walk(item, child, depth + 1);
      });
    }
  };
  if (doc.contents) {
    index.set('', { node: doc.contents as Node });
    walk(doc.contents, [], 0);
  }
  if (issues.length > before) return undefined;

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    issues.push({
      file,
      line: 1,
      column: 1,
      message: `cannot expand YAML aliases: ${(e as Error).message}`,
      hint: `at most ${MAX_ALIAS_COUNT} alias expansions are allowed`,
    });
    return undefined;
  }

  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const nodeAt = (path: readonly (string | number)[]): Node | undefined => index.get(pathKey(path))?.node;
  const nearest = (path: readonly (string | number)[]): Node | undefined => {
    for (let i = path.length; i >= 0; i--) {
      const n = nodeAt(path.slice(0, i));
      if (n) return n;
    }
    return undefined;
  };

  return {
    file,
    value,
    locateKey(path) {
      if (path.length === 0) return at(0);
      const keyNode = index.get(pathKey(path))?.key;
      return keyNode?.range ? at(keyNode.range[0]) : this.locate(path);
    },
    locate(path, key) {
      if (key !== undefined) {
        const keyNode = index.get(pathKey([...path, key]))?.key;
        if (keyNode?.range) return at(keyNode.range[0]);
      }
      return at(nearest(path)?.range?.[0] ?? 0);
    },
    locateInString(path, offset) {
      const node = nodeAt(path);
      if (!node || !isScalar(node) || !node.range) return this.locate(path);
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
      const block = node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL;
      return at(block ? node.range[0] : node.range[0] + (quoted ? 1 : 0) + offset);
    },
  };
}

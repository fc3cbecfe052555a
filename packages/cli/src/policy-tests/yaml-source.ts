/**
 * Reads a YAML file with the `yaml` package keeping positions, so every
 * problem in a test file is reported as file:line:col. Duplicate keys are
 * errors (a repeated `expect:` must never silently win).
 */
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly hint?: string;
}

export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  /** Position of the node at `path`, or of key `key` in the mapping there; the nearest existing ancestor otherwise. */
  locate(path: readonly (string | number)[], key?: string): { line: number; column: number };
}

function position(lines: LineCounter, offset: number): { line: number; column: number } {
  const p = lines.linePos(offset);
  return { line: p.line, column: p.col };
}

export type YamlRead = { ok: true; source: YamlSource } | { ok: false; problems: Problem[] };

export function readYamlSource(file: string, text: string): YamlRead {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        // With prettyErrors off, yaml leaves `linePos` unset: compute it from the offset.
        ...position(lines, e.pos[0]),
        message:
          e.code === 'DUPLICATE_KEY'
            ? `duplicate key: ${e.message.split('\n')[0]}`
            : `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return {
      ok: false,
      problems: [{ file, line: 1, column: 1, message: `cannot expand YAML aliases: ${(e as Error).message}` }],
    };
  }
  const nodeAt = (path: readonly (string | number)[]): Node | undefined => {
    const n = path.length === 0 ? doc.contents : doc.getIn(path as (string | number)[], true);
    return n && typeof n === 'object' && 'range' in n ? (n as Node) : undefined;
  };
  return {
    ok: true,
    source: {
      file,
      value,
      locate(path, key) {
        let node: Node | undefined;
        for (let i = path.length; i >= 0 && !node; i--) node = nodeAt(path.slice(0, i));
        if (key !== undefined && node && isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
          const range = (pair?.key as Node | undefined)?.range;
          if (range) return position(lines, range[0]);
        }
        return position(lines, node?.range?.[0] ?? 0);
      },
    },
  };
}

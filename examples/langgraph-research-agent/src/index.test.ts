import { describe, expect, it } from 'vitest';
import { main } from './index.ts';

describe('langgraph research agent example', () => {
  it('runs offline: reads allowed, secrets and unknown roles denied, deletes only after approval', async () => {
    const lines = await main(() => {});
    const text = lines.join('\n');

    // alice (default role): read tools allowed, the secret file and the destructive tool denied.
    expect(lines).toContain('  [alice] search_docs {"query":"indexes","limit":5} -> allow');
    expect(lines).toContain('  [alice] read_file {"path":"docs/retention.md"} -> allow');
    expect(text).toMatch(/\[alice\] read_file \{"path":"secrets\/api-key.txt"\} -> deny \(.*docs\//);
    expect(text).toMatch(/\[alice\] delete_index \{"index":"staging-2023"\} -> deny/);
    expect(lines).toContain(
      '  agent: Done. search_docs ok; read_file ok; read_file blocked (policy_denied); delete_index blocked (policy_denied).',
    );

    // olga (ops): two deletions wait for a reviewer, production is denied outright.
    expect(text).toMatch(/\[olga\] delete_index \{"index":"prod-main"\} -> deny \(.*prod-/);
    expect(lines.filter((l) => l.startsWith('  reviewer asked: olga wants delete_index'))).toHaveLength(2);
    expect(lines).toContain('  approval approved by rita: delete_index');
    expect(lines).toContain('  approval rejected by rita: delete_index');
    expect(lines).toContain(
      '  agent: Done. delete_index ok; delete_index blocked (approval_required, rejected: still used by the 2024 report); delete_index blocked (policy_denied).',
    );

    // Only the approved deletion happened, once, for olga.
    expect(lines.at(-2)).toBe('indexes left: staging-2024, prod-main');
    expect(lines.at(-1)).toBe('side effects: deleted staging-2023 for olga');
  });
});

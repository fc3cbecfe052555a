import { expect, it } from 'vitest';
import * as api from './index.ts';

// The runtime public surface of @hexgate/mcp. Changing it is a versioned API change.
it('exports exactly the public API', () => {
  expect(Object.keys(api).sort()).toEqual([
    'DECISION_META_KEY',
    'runMcpProxy',
    'toToolResult',
    'toolDefinitionHash',
    'withHexgate',
    'withHexgateServer',
  ]);
});

import { expect, it } from 'vitest';
import * as api from './index.ts';

it('exports exactly the documented public API', () => {
  expect(Object.keys(api).sort()).toEqual([
    'hexgateModelMiddleware',
    'hexgateToolApproval',
    'hexgateTools',
    'traceHexgateRun',
  ]);
});

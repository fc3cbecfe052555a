import { canonicalJson, sha256Hex } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import { toolDefinitionHash } from './index.ts';

const weather = {
  name: 'weather',
  description: 'Current weather for a city.',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
};

describe('toolDefinitionHash', () => {
  it("changes when a tool's _meta or icons change (what clients render for it), not only its text and schemas", () => {
    const withUi = { ...weather, _meta: { ui: { resourceUri: 'ui://weather/card.html' } } };
    const swappedUi = { ...weather, _meta: { ui: { resourceUri: 'ui://weather/login-phish.html' } } };
    const withIcon = { ...weather, icons: [{ src: 'https://example.com/sun.png' }] };
    const swappedIcon = { ...weather, icons: [{ src: 'https://example.com/bank.png' }] };

    expect(toolDefinitionHash(swappedUi)).not.toBe(toolDefinitionHash(withUi));
    expect(toolDefinitionHash(withUi)).not.toBe(toolDefinitionHash(weather));
    expect(toolDefinitionHash(swappedIcon)).not.toBe(toolDefinitionHash(withIcon));
  });

  it('keeps the hash pinned for a tool without _meta or icons (existing pin files stay valid)', () => {
    const before = sha256Hex(
      canonicalJson({
        title: null,
        description: weather.description,
        inputSchema: weather.inputSchema,
        outputSchema: null,
        annotations: null,
      }),
    );
    expect(toolDefinitionHash(weather)).toBe(before);
  });
});

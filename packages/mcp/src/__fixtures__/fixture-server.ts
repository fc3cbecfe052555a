/**
 * An ordinary, ungated MCP server over stdio: the "any server" the proxy
 * sits in front of, with the tools of `proxy-tools.ts`. `calls` reports
 * which tools actually ran, so tests can prove denied handlers never did.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { registerProxyTools } from './proxy-tools.ts';

const server = new McpServer({ name: 'fixture-server', version: '1.0.0' });
const ran: { tool: string; args: unknown }[] = [];
registerProxyTools(server, ran);
server.registerTool('calls', { description: 'Which tools ran.' }, async () => ({
  content: [{ type: 'text', text: JSON.stringify(ran) }],
}));

await server.connect(new StdioServerTransport());

import { hexgateProject } from '../../vitest.shared.ts';

export default hexgateProject('openai-agents-customer-bot');

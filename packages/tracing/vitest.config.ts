import { hexgateProject } from '../../vitest.shared.ts';

export default hexgateProject('tracing');

import { hexgateProject } from '../../vitest.shared.ts';

const project = hexgateProject('tracing');

// @opentelemetry/api's "module" export condition points at an ESM build with
// extensionless imports that Node cannot load, so dependencies must be
// resolved without that condition (Node then picks the CommonJS build).
const conditions = ['@hexgate/source', 'import', 'node', 'default'];

export default {
  ...project,
  resolve: { ...project.resolve, conditions },
  ssr: { ...project.ssr, resolve: { conditions, externalConditions: conditions } },
};

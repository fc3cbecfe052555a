/** Trust defaults shared by loaders and sources. */

/**
 * Signatures are required by default in production: an unsigned policy there
 * is far more likely to be a mistake (or an attack) than a choice.
 */
export function defaultRequireSignature(): boolean {
  return process.env.NODE_ENV === 'production';
}

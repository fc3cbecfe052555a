/**
 * Validation of numeric options: a value that is given but unusable is a
 * configuration mistake and throws, rather than being quietly replaced by the
 * default (a `maxQueue: 0` or a `batchSize` read from an unset variable would
 * otherwise run with settings nobody chose).
 */
import { InvalidOptionsError } from '@hexgate/core';

/** `value` rounded down, `fallback` when not given; throws unless it is a finite number >= `min`. */
export function intOption(caller: string, name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidOptionsError(`${caller}: \`${name}\` must be a number >= ${min} (got ${String(value)})`);
  }
  return Math.floor(value);
}

/** A constraint that does not parse; `offset` points into the constraint text. */
export class ConstraintSyntaxError extends Error {
  readonly offset: number;
  readonly hint: string | undefined;

  constructor(message: string, offset: number, hint?: string) {
    super(message);
    this.name = 'ConstraintSyntaxError';
    this.offset = offset;
    this.hint = hint;
  }
}

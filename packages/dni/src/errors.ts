/** A DNI option has a value the package cannot use; the message names the option and the value. */
export class DniOptionError extends RangeError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`${option} = ${JSON.stringify(value)} is invalid: expected ${expected}`);
    this.name = "DniOptionError";
  }
}

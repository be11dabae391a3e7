/**
 * One error type for every sandbox service. The protocol layer turns it into the wire shape the SDK
 * expects (JSON 1.1 `__type` or Query `<Error><Code>`), so the SDK raises the named exception class.
 */
export class AwsError extends Error {
  constructor(
    /** AWS error code as it appears on the wire, e.g. `NoSuchEntity`, `NotFoundException`. */
    readonly code: string,
    message: string,
    /** HTTP status AWS uses for this error. */
    readonly status = 400,
    /** `Sender` (client fault) or `Receiver` (server fault). */
    readonly fault: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = code;
  }
}

/** Shorthand for the common validation error of each protocol family. */
export const validationError = (message: string) => new AwsError('ValidationException', message, 400);

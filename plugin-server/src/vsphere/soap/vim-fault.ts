/**
 * A SOAP fault returned by vCenter. `faultName` is the vim25 fault type (`InvalidLogin`,
 * `NotAuthenticated`, `ManagedObjectNotFound`, ...), `message` the server's faultstring and
 * `detail` the parsed fault object (e.g. `{ _type: 'ManagedObjectNotFound', obj: {type, value} }`).
 */
export class VimFault extends Error {
  constructor(
    readonly faultName: string,
    message: string,
    readonly detail: Record<string, unknown> | undefined,
    readonly faultCode?: string,
  ) {
    super(message || faultName);
    this.name = 'VimFault';
  }

  /** True when `err` is a VimFault named `faultName`. */
  static is(err: unknown, faultName?: string): err is VimFault {
    return err instanceof VimFault && (faultName === undefined || err.faultName === faultName);
  }
}

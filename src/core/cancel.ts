/** What core functions accept for cancellation: a vscode or LSP token fits, and so does a plain object. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

export const never: Cancellation = { isCancellationRequested: false };

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

export function throwIfCancelled(token: Cancellation | undefined): void {
  if (token?.isCancellationRequested) throw new CancelledError();
}

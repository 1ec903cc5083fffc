/** What core functions accept for cancellation: a vscode or LSP token fits, and so does a plain object. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
}

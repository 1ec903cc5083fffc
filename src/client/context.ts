/**
 * One object owns the extension's parts: the language client, the status bar, the output channel and
 * the commands. Disposables for the extension's life live in `subscriptions`; the client's own go
 * with the client.
 */
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, RevealOutputChannelOn, type ServerOptions, State, TransportKind } from 'vscode-languageclient/node';
import { reindex, status, type StatusParams, trustGranted } from '../protocol/requests';
import { StatusBar } from './statusBar';

export class ExtensionContext {
  private client: LanguageClient | undefined;
  private crashes = 0;

  private constructor(
    readonly vs: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
    readonly statusBar: StatusBar,
  ) {}

  /** The extension's parts, before its server starts: commands are registered on it first (extension.ts). */
  static create(vs: vscode.ExtensionContext): ExtensionContext {
    const output = vscode.window.createOutputChannel('Kernel Exports', { log: true });
    const statusBar = new StatusBar();
    vs.subscriptions.push(output, statusBar);
    return new ExtensionContext(vs, output, statusBar);
  }

  /** Starts the language server; a failure is shown, never thrown (VS Code shows nothing when activation fails). */
  async launch(): Promise<void> {
    try {
      await this.start();
    } catch (e) {
      const msg = `Kernel Exports could not start its language server: ${(e as Error).message}`;
      this.output.appendLine(msg);
      this.statusBar.show({ state: 'error', message: msg });
      void vscode.window.showErrorMessage(msg, 'Show Log').then((pick) => pick && this.output.show());
    }
  }

  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  private async start(): Promise<void> {
    const module = this.vs.asAbsolutePath('dist/server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const storage = this.vs.storageUri ?? this.vs.globalStorageUri;
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'c' },
        { scheme: 'file', language: 'cpp', pattern: '**/*.h' },
        { scheme: 'file', pattern: '**/*.S' },
      ],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { cacheDir: vscode.Uri.joinPath(storage, 'index').fsPath, trusted: vscode.workspace.isTrusted },
      // sources for the index; Makefiles, Kbuild and Kconfig files for the build model
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.c,*.h,*.S,Makefile,Kbuild,Kconfig*}') },
      errorHandler: {
        error: () => ({ action: 1 /* Continue */ }),
        closed: () => {
          this.crashes++;
          if (this.crashes === 1) {
            void vscode.window.showWarningMessage('The Kernel Exports server stopped unexpectedly and was restarted. See the "Kernel Exports" output for details.');
          }
          this.statusBar.show({ state: 'error', message: 'the server stopped; restarting' });
          return { action: this.crashes <= 4 ? 2 /* Restart */ : 1 /* DoNotRestart */ };
        },
      },
    };
    const client = new LanguageClient('kexports', 'Kernel Exports', serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) client.onNotification(status, (p: StatusParams) => this.statusBar.show(p));
    });
    this.vs.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.client?.sendNotification(trustGranted, {})));
    this.statusBar.show({ state: 'indexing', message: 'starting' });
    await client.start();
  }

  async reindex(): Promise<void> {
    await this.client?.sendRequest(reindex);
  }

  async dispose(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop().catch(() => undefined);
  }
}

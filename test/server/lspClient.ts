/** A minimal LSP client for tests: the bundled server as a child process, JSON-RPC over its stdio. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, type MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { repoRoot, tempDir } from '../helpers';

export interface Published {
  uri: string;
  version?: number;
  diagnostics: {
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    severity: number;
    code: string;
    source: string;
    message: string;
    codeDescription?: { href: string };
  }[];
}

export class LspClient {
  readonly conn: MessageConnection;
  readonly child: ChildProcess;
  readonly progress: unknown[] = [];
  lensRefreshes = 0;
  readonly statuses: { state: string; message: string }[] = [];
  readonly messages: { type: number; message: string }[] = [];
  /** window/logMessage texts: the Output channel's lines. */
  readonly logs: string[] = [];
  readonly published = new Map<string, Published>();
  private waiters: (() => void)[] = [];
  settings: unknown = {};

  constructor(
    readonly root: string,
    args: string[] = [join(repoRoot, 'dist/server.js'), '--stdio'],
    private readonly options: { env?: Record<string, string>; initializationOptions?: Record<string, unknown> } = {},
  ) {
    this.child = spawn(process.execPath, args, { env: { ...process.env, XDG_CACHE_HOME: tempDir('kexports-lsp-cache-'), ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.conn = createMessageConnection(new StreamMessageReader(this.child.stdout!), new StreamMessageWriter(this.child.stdin!));
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onRequest('workspace/codeLens/refresh', () => {
      this.note(() => this.lensRefreshes++);
      return null;
    });
    this.conn.onRequest('workspace/configuration', () => [this.settings]);
    this.conn.onNotification('$/progress', (p) => this.note(() => this.progress.push(p.value)));
    this.conn.onNotification('kexports/status', (p) => this.note(() => this.statuses.push(p)));
    this.conn.onNotification('window/showMessage', (p) => this.note(() => this.messages.push(p)));
    this.conn.onRequest('window/showMessageRequest', (p) => {
      this.note(() => this.messages.push({ type: p.type, message: p.message }));
      return null;
    });
    this.conn.onNotification('window/logMessage', (p: { message: string }) => this.note(() => this.logs.push(p.message)));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: Published) => this.note(() => this.published.set(p.uri, p)));
    this.conn.listen();
  }

  private note(fn: () => unknown): void {
    fn();
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** Waits, without sleeping, until `test` holds after some notification; fails after `ms`. */
  async until<T>(test: () => T | undefined | false, what: string, ms = 20000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = test();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until the diagnostics published for `path` have exactly these codes. */
  untilCodes(path: string, codes: string[]): Promise<Published> {
    const want = codes.join(',');
    return this.until(
      () => {
        const p = this.published.get(this.uri(path));
        return p && p.diagnostics.map((d) => d.code).join(',') === want && p;
      },
      `diagnostics ${want || '(none)'} for ${path}; last: ${this.published
        .get(this.uri(path))
        ?.diagnostics.map((d) => d.code)
        .join(',')}`,
    );
  }

  uri(path: string): string {
    return pathToFileURL(join(this.root, path)).toString();
  }

  async start(): Promise<unknown> {
    const result = await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(this.root).toString(),
      workspaceFolders: [{ uri: pathToFileURL(this.root).toString(), name: 'tree' }],
      capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true, didChangeWatchedFiles: { dynamicRegistration: true }, codeLens: { refreshSupport: true } } },
      initializationOptions: { cacheDir: tempDir('kexports-lsp-idx-'), ...this.options.initializationOptions },
    });
    await this.conn.sendNotification('initialized', {});
    return result;
  }

  /** Starts the server and waits for its index. */
  async startReady(): Promise<void> {
    await this.start();
    await this.until(() => this.statuses.find((s) => s.state === 'ready'), 'the index');
  }

  open(path: string, text: string, version = 1): Promise<void> {
    return this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: this.uri(path), languageId: 'c', version, text } });
  }

  async stop(): Promise<void> {
    await this.conn.sendRequest('shutdown');
    await this.conn.sendNotification('exit');
    await new Promise((resolve) => this.child.once('exit', resolve));
    this.conn.dispose();
  }
}

/** Runs `fn` with a started server, and stops it even when an assertion fails. */
export async function withServer(lsp: LspClient, fn: () => Promise<void>): Promise<void> {
  try {
    await lsp.startReady();
    await fn();
  } finally {
    await lsp.stop();
  }
}

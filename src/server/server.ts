/**
 * The language server's state and the binding of one handler per capability. Conversions live in
 * render.ts; the engine in src/core.
 */
import { rmSync } from 'node:fs';
import { type Maintainers, readMaintainers } from '../core/maintainers/maintainers';
import { whoseFiles } from '../core/review/recipients';
import { defaultCacheDir } from '../core/util/cacheDir';
import { readRegularFile } from '../core/util/regularFile';
import { join } from 'node:path';
import {
  type CancellationToken,
  type Connection,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  type InitializeParams,
  type InitializeResult,
  Location,
  Range,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { BuildAnswers } from '../core/build/answers';
import type { BuildModel } from '../core/build/model';
import { modelAfter, openBuildModel, startBuildModel } from '../core/build/store';
import { openIndex } from '../core/engine';
import type { Export, KernelIndex } from '../core/index/index';
import { scannerInUse } from '../core/scan/nativeScanner';
import { DEFAULT_MAX_FILE_BYTES } from '../core/scan/scanFile';
import { BUILD_FILE, MAKEFILE, readMakefile } from '../core/build/kbuild';
import { findTreeRoot } from '../core/tree';
import { replyText } from '../core/review/reply';
import { markdown } from '../core/review/report';
import { runReview } from '../core/review/run';
import { withHistoryFindings } from '../core/findings/findings';
import type { FileHistory } from '../core/history/compute';
import { historyFindings, historyLine, historyMarkdown, unavailableLine } from '../core/history/render';
import { exportRefs, HistoryService, relocate } from '../core/history/service';
import { md } from '../core/util/markdown';
import {
  exportHistory,
  type HistoryParams,
  type HistoryResult,
  type InitializationOptions,
  type IndexState,
  reindex,
  type ReviewParams,
  type ReviewResult,
  reviewSeries,
  status,
  trustGranted,
  type UnusedExport,
  unusedExports,
} from '../protocol/requests';
import { defaults, parseSettings, type Settings } from '../protocol/settings';
import { VERSION } from '../protocol/version';
import { exportsUnused, references, workspaceSymbols } from './queries';
import { exportHover, findingsFor, gplFixes, lenses, toDiagnostic } from './render';
import { LineReader, treePathToUri, uriToPath, uriToTreePath, wordAt } from './text';

/** Open documents this large are re-scanned after a longer pause: generated headers must not block. */
const LARGE_DOCUMENT = 1 << 20;
/** An open file's history is checked against HEAD at most this often. */
const HISTORY_RECHECK_MS = 10_000;
const UNTRUSTED_HISTORY = "this workspace is not trusted, and git would read the repository's config, which can run programs";

export class KexportsServer {
  private readonly documents = new TextDocuments(TextDocument);
  private root: string | undefined;
  private index: KernelIndex | undefined;
  private indexing: Promise<void> | undefined;
  private indexRuns = 0;
  /** The exclude globs the index was made with, as JSON. */
  private indexedExclude = '[]';
  private settings: Settings = structuredClone(defaults);
  private cacheDir: string | undefined;
  private canConfigure = false;
  private canWatch = false;
  private canRefreshLenses = false;
  private warned = new Set<string>();
  private pending = new Map<string, NodeJS.Timeout>();
  /** The document version the index holds, per open document: diagnostics wait for their text. */
  private applied = new Map<string, number>();
  /** False in an untrusted workspace: no git process runs. */
  private trusted = true;
  private historyService: HistoryService | undefined;
  /** Per path: the export names last asked about, and when. */
  private historyAsked = new Map<string, { names: string; at: number }>();
  private historyErrors = new Map<string, string>();
  /** The index whose mapped cache was last found cut short. */
  private cutShortSeen: KernelIndex | undefined;
  /** The tree's MAINTAINERS, read when the tree is indexed; null when it has none. */
  private maintainers: Maintainers | null | undefined;
  /** The build model (undefined: the tree has no Kbuild and Kconfig; null: not read yet), and its answers over the index. */
  private buildModel: BuildModel | undefined | null = null;
  private build: BuildAnswers | undefined;

  constructor(private readonly conn: Connection) {}

  listen(): void {
    const c = this.conn;
    c.onInitialize((p) => this.initialize(p));
    c.onInitialized(() => this.quiet(this.initialized()));
    c.onHover((p, token) => this.guard(() => this.hover(p.textDocument.uri, p.position.line, p.position.character, token)));
    c.onCodeLens((p) => this.guard(() => this.codeLenses(p.textDocument.uri)));
    c.onCodeAction((p) => this.guard(() => this.codeActions(p.textDocument.uri, p.context.diagnostics)));
    c.onReferences((p, token) => this.guard(() => this.references(p.textDocument.uri, p.position.line, p.position.character, p.context.includeDeclaration, token)));
    c.onWorkspaceSymbol((p, token) => this.guard(() => (this.index ? workspaceSymbols(this.index, this.root!, p.query, token) : [])));
    c.onDidChangeConfiguration(() =>
      this.quiet(
        this.loadSettings().then(() => {
          this.historyAsked.clear();
          if (JSON.stringify(this.settings.exclude) !== this.indexedExclude) void this.startIndexing('settings');
          else this.republish();
        }),
      ),
    );
    c.onDidChangeWatchedFiles((p) => this.guard(() => this.filesChanged(p.changes)));
    c.onRequest(unusedExports, (p, token) => this.guard(() => this.unused(p.under, token)) ?? []);
    c.onRequest(reindex, () => this.startIndexing('fresh'));
    c.onRequest(reviewSeries, (p) => this.review(p));
    c.onRequest(exportHistory, (p) => this.timeline(p));
    c.onNotification(trustGranted, () => {
      this.trusted = true;
      this.historyAsked.clear();
      this.republish();
    });
    this.documents.onDidChangeContent((e) => this.schedule(e.document));
    this.documents.onDidClose((e) => this.closed(e.document.uri));
    this.documents.listen(c);
    c.listen();
  }

  /** A promise nobody waits for: its failure is logged, never an unhandled rejection. */
  private quiet(p: Thenable<unknown>): void {
    p.then(undefined, (e: unknown) => this.conn.console.error(`kexports: ${(e as Error)?.message ?? String(e)}`));
  }

  /** Runs a handler; an engine error is logged, never fatal. */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.conn.console.error(`kexports: ${(e as Error).stack ?? String(e)}`);
      return undefined;
    } finally {
      this.checkMappedCache();
    }
  }

  /** A mapped cache cut short under the index by another program: said once, removed, and the tree indexed again. */
  private checkMappedCache(): void {
    const index = this.index;
    const mapped = index?.mappedCache;
    if (!mapped?.cutShort() || this.cutShortSeen === index) return;
    this.cutShortSeen = index;
    const msg = `the cache ${mapped.file} was cut short by another program while in use: answers may miss uses until the tree is indexed again, which starts now`;
    this.conn.console.warn(`kexports: ${msg}`);
    this.conn.window.showWarningMessage(`Kernel Exports: ${msg}`);
    try {
      rmSync(mapped.file, { force: true });
    } catch (e) {
      // Indexed again all the same: the next start finds the file damaged and rebuilds it.
      this.conn.console.warn(`kexports: could not remove ${mapped.file}: ${(e as Error).message}`);
    }
    void this.startIndexing('settings');
  }

  private initialize(p: InitializeParams): InitializeResult {
    const folder = p.workspaceFolders?.[0]?.uri ?? p.rootUri ?? undefined;
    if (folder?.startsWith('file:')) {
      const found = findTreeRoot(new URL(folder).pathname);
      if (found.isKernelTree) this.root = found.root;
    }
    const opts = (p.initializationOptions ?? {}) as InitializationOptions;
    this.trusted = opts.trusted ?? true;
    this.cacheDir = opts.cacheDir ?? defaultCacheDir();
    this.canConfigure = !!p.capabilities.workspace?.configuration;
    this.canWatch = !!p.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration;
    this.canRefreshLenses = !!p.capabilities.workspace?.codeLens?.refreshSupport;
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: ['quickfix'] },
        referencesProvider: true,
        workspaceSymbolProvider: true,
      },
      serverInfo: { name: 'kexports', version: VERSION },
    };
  }

  private async initialized(): Promise<void> {
    if (this.canConfigure) this.quiet(this.conn.client.register(DidChangeConfigurationNotification.type, { section: 'kexports' }));
    if (this.canWatch) this.quiet(this.conn.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{c,h,S}' }] }));
    await this.loadSettings();
    await this.startIndexing('start');
  }

  private async loadSettings(): Promise<void> {
    if (!this.canConfigure) return;
    const raw: unknown = await this.conn.workspace.getConfiguration('kexports');
    const { settings, warnings } = parseSettings(raw);
    this.settings = settings;
    for (const w of warnings) {
      if (this.warned.has(w)) continue;
      this.warned.add(w);
      this.conn.window.showWarningMessage(w);
    }
  }

  private setStatus(state: IndexState, message: string): void {
    this.quiet(this.conn.sendNotification(status, { state, message }));
    this.conn.console.log(`kexports: ${message}`);
  }

  /**
   * Opens the index: at start (from the cache), `fresh` (Re-index: a full scan), or `settings` (the
   * exclude globs changed: the cache made for them, or a scan). Only the latest run's index is kept.
   */
  private startIndexing(mode: 'start' | 'fresh' | 'settings'): Promise<void> {
    const root = this.root;
    if (!root) {
      this.setStatus('idle', 'not a kernel tree (no Kbuild and MAINTAINERS): nothing to index');
      return Promise.resolve();
    }
    if (this.indexing && mode === 'start') return this.indexing;
    const run = ++this.indexRuns;
    const exclude = [...this.settings.exclude];
    this.indexedExclude = JSON.stringify(exclude);
    this.indexing = (async () => {
      const progress = await this.conn.window.createWorkDoneProgress();
      progress.begin('Kernel Exports', 0, 'Indexing', false);
      this.setStatus('indexing', `indexing ${root}`);
      let last = 0;
      try {
        const t = performance.now();
        // the build model alongside the index: from its cache at once, else in a worker thread while the index is scanned
        if (mode === 'fresh') this.buildModel = null;
        const model = this.buildModel === null ? this.startModel(root) : undefined;
        const index = await openIndex(root, {
          exclude,
          cacheDir: mode === 'fresh' ? undefined : this.cacheDir,
          workerScript: join(__dirname, 'scanWorker.js'),
          onProgress: (done, total) => {
            const now = performance.now();
            if (now - last < 200 && done < total) return;
            last = now;
            progress.report(Math.floor((100 * done) / Math.max(1, total)), `Indexing ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} files`);
          },
          log: (m) => this.conn.console.log(`kexports: ${m}`),
          // The tree's findings first; the cache file follows on libuv's threads.
          cacheWrite: 'background',
          onCacheWritten: (e) => void (e || this.conn.console.log(`kexports: cache written in ${Math.round(performance.now() - t)} ms from the start of indexing`)),
        });
        if (run !== this.indexRuns) {
          progress.done();
          return;
        }
        this.index = index;
        this.maintainers = undefined;
        if (model) this.buildModel = await model;
        this.loadBuildModel(root, index);
        for (const d of this.documents.all()) this.applyDocument(d);
        progress.done();
        const skipped = index.stats.skipped.length;
        if (run === 1) this.conn.console.log(`kexports: ${scannerInUse()}`);
        this.setStatus(
          'ready',
          `${index.exports.length.toLocaleString('en-US')} exports in ${index.files.filter((f) => f.alive).length.toLocaleString('en-US')} files, ${Math.round(performance.now() - t)} ms${skipped ? `; ${skipped} skipped` : ''}`,
        );
        this.republish();
        this.refreshLenses();
      } catch (e) {
        progress.done();
        this.setStatus('error', `indexing failed: ${(e as Error).message}`);
      }
    })();
    return this.indexing;
  }

  /** The build model, from its cache beside the index's when that is still true, else read in a worker thread; undefined when that fails (said in the log). */
  private startModel(root: string): Promise<BuildModel | undefined> {
    const t = performance.now();
    const log = (m: string): void => this.conn.console.log(`kexports: ${m}`);
    return startBuildModel(root, { cacheDir: this.cacheDir, log, workerScript: join(__dirname, 'modelWorker.js') }).then(
      (m) => {
        if (m) log(`build model ready ${Math.round(performance.now() - t)} ms after indexing started`);
        return m;
      },
      (e: unknown) => {
        this.conn.console.error(`kexports: ${(e as Error).stack ?? String(e)}`);
        return undefined;
      },
    );
  }

  /** Answers from the build model, read now if the index's start did not read it: modules in hovers and findings. */
  private loadBuildModel(root: string, index: KernelIndex): void {
    const t = performance.now();
    if (this.buildModel === null) this.buildModel = this.guard(() => openBuildModel(root, { cacheDir: this.cacheDir, log: (m) => this.conn.console.log(`kexports: ${m}`) }));
    this.build = this.buildModel ? new BuildAnswers(this.buildModel, index) : undefined;
    if (this.buildModel)
      this.conn.console.log(
        `kexports: build model: ${this.buildModel.makefiles.length.toLocaleString('en-US')} Makefiles, ${this.buildModel.kconfig.symbols.size.toLocaleString('en-US')} Kconfig symbols, ${Math.round(performance.now() - t)} ms; ${this.buildModel.unknown.length} constructs not understood`,
      );
  }

  /** Makefiles, Kbuild and Kconfig files changed on disk: only they are read again (see updateModel). */
  private buildFilesChanged(paths: readonly string[]): void {
    if (!this.buildModel || !this.index || !this.root || paths.length === 0) return;
    const texts = new Map<string, string | undefined>();
    for (const p of paths) texts.set(p, readMakefile(this.root, p));
    const t = performance.now();
    this.buildModel = modelAfter(this.buildModel, this.root, texts);
    this.build = new BuildAnswers(this.buildModel, this.index);
    this.conn.console.log(`kexports: build model updated for ${paths.join(', ')} in ${Math.round(performance.now() - t)} ms`);
  }

  private pathOf(uri: string): string | undefined {
    return this.root ? uriToTreePath(this.root, uri) : undefined;
  }

  // ---- keeping current ----

  private schedule(doc: TextDocument): void {
    const uri = doc.uri;
    clearTimeout(this.pending.get(uri));
    const delay = doc.getText().length > LARGE_DOCUMENT ? 500 : 20;
    this.pending.set(
      uri,
      setTimeout(() => {
        this.pending.delete(uri);
        const current = this.documents.get(uri);
        if (current && this.index) {
          this.guard(() => this.applyDocument(current));
          this.republish();
          this.refreshLenses();
        }
      }, delay),
    );
  }

  /** The open document's text replaces the file's contribution to the index. */
  private applyDocument(doc: TextDocument): void {
    const path = this.pathOf(doc.uri);
    if (!path || !this.index || !/\.[chS]$/.test(path)) return;
    const text = doc.getText();
    if (text.length > DEFAULT_MAX_FILE_BYTES) return;
    this.index.updateFile(path, Buffer.from(text, 'latin1'));
    this.applied.set(doc.uri, doc.version);
  }

  /** Lenses were asked for before the index held the new text: ask the editor to ask again. */
  private refreshLenses(): void {
    if (this.canRefreshLenses) this.quiet(this.conn.sendRequest('workspace/codeLens/refresh'));
  }

  private closed(uri: string): void {
    const path = this.pathOf(uri);
    clearTimeout(this.pending.get(uri));
    this.applied.delete(uri);
    this.quiet(this.conn.sendDiagnostics({ uri, diagnostics: [] }));
    if (path && this.index) this.guard(() => this.fromDisk(path));
  }

  /** The disk's text of a file, read as a full build reads it: a link, a FIFO or a device is no file, a huge one is skipped. */
  private fromDisk(path: string): void {
    if (MAKEFILE.test(path)) {
      let text: string | undefined;
      try {
        text = readRegularFile(join(this.root!, path), { maxBytes: DEFAULT_MAX_FILE_BYTES }).toString('latin1');
      } catch {
        text = undefined;
      }
      this.index!.setMakefile(path, text);
      return;
    }
    this.index!.rescanFile(path, DEFAULT_MAX_FILE_BYTES);
  }

  private filesChanged(changes: readonly { uri: string; type: FileChangeType }[]): void {
    if (!this.index) return;
    const build: string[] = [];
    for (const ch of changes) {
      const path = this.pathOf(ch.uri);
      if (path && BUILD_FILE.test(path)) {
        build.push(path);
        // a Makefile's ccflags can set the namespace of its directory's exports
        if (MAKEFILE.test(path)) this.fromDisk(path);
        continue;
      }
      if (!path || !/\.[chS]$/.test(path) || this.documents.get(ch.uri)) continue;
      if (ch.type === FileChangeType.Deleted) this.index.deleteFile(path);
      else this.fromDisk(path);
    }
    this.buildFilesChanged(build);
    this.republish();
    this.refreshLenses();
  }

  private republish(): void {
    if (!this.index) return;
    for (const d of this.documents.all()) {
      const path = this.pathOf(d.uri);
      if (!path || this.applied.get(d.uri) !== d.version) continue;
      this.askHistory(path);
      const diagnostics = this.guard(() => withHistoryFindings(findingsFor(this.index!, path, this.settings, this.build), this.historyFindingsFor(path)).map(toDiagnostic)) ?? [];
      this.quiet(this.conn.sendDiagnostics({ uri: d.uri, version: d.version, diagnostics }));
    }
  }

  // ---- export history ----

  private historyEnabled(): boolean {
    return this.settings.history && this.trusted && !!this.root && !!this.index;
  }

  private histories(): HistoryService {
    const tests = this.settings.testsCountAsConsumers;
    if (!this.historyService || this.historyService.testsCountAsConsumers !== tests) {
      this.historyService = new HistoryService(this.root!, { cacheDir: this.cacheDir, testsCountAsConsumers: tests, log: (m) => this.conn.console.log(`kexports: ${m}`) });
    }
    return this.historyService;
  }

  /**
   * Starts the history of an open file in the background, when its exports changed or HEAD may have
   * moved (at most every HISTORY_RECHECK_MS); diagnostics are republished when it arrives.
   */
  private askHistory(path: string, force = false): Promise<FileHistory> | undefined {
    if (!this.historyEnabled()) return undefined;
    const refs = exportRefs(this.index!, path, this.settings.testsCountAsConsumers);
    if (refs.length === 0) return undefined;
    const names = refs.map((r) => r.name).join(',');
    const last = this.historyAsked.get(path);
    if (!force && last && last.names === names && Date.now() - last.at < HISTORY_RECHECK_MS) return undefined;
    this.historyAsked.set(path, { names, at: Date.now() });
    const before = this.histories().peek(path);
    const p = this.histories().history(path, refs);
    p.then(
      (h) => {
        const had = this.historyErrors.delete(path);
        if (had || h !== before) this.republish();
      },
      (e: unknown) => {
        const msg = (e as Error).message;
        if (this.historyErrors.get(path) !== msg) this.conn.console.warn(`kexports: export history of ${path}: ${msg}`);
        this.historyErrors.set(path, msg);
      },
    );
    return p;
  }

  private historyFindingsFor(path: string) {
    const h = this.historyEnabled() ? this.historyService?.peek(path) : undefined;
    if (!h) return [];
    return historyFindings(relocate(h, this.index!.exportsByFile.get(path) ?? []), { severity: this.settings.severity, maxAgeReleases: this.settings.historyMaxAgeReleases });
  }

  /** The hover's history line: from memory only, never a git process. */
  private historyHoverLine(e: Export): string | undefined {
    if (!this.settings.history) return undefined;
    if (!this.trusted) return `*${unavailableLine(UNTRUSTED_HISTORY)}*`;
    const error = this.historyErrors.get(e.file);
    if (error) return `*${md(unavailableLine(error))}*`;
    const row = this.historyService?.peek(e.file)?.exports.find((r) => r.symbol === e.name);
    if (!row) {
      this.askHistory(e.file);
      return '*history: reading git log…*';
    }
    return `history: ${historyLine(row, md)}`;
  }

  private async timeline(p: HistoryParams): Promise<HistoryResult> {
    const path = this.pathOf(p.uri);
    if (!this.root || !path) throw new ResponseError(1, 'not a file of a kernel tree');
    if (!this.index) throw new ResponseError(1, 'Kernel Exports is still indexing; try again when it is ready');
    if (!this.trusted) throw new ResponseError(2, `export history is unavailable: ${UNTRUSTED_HISTORY}`);
    const refs = exportRefs(this.index, path, this.settings.testsCountAsConsumers);
    if (refs.length === 0) return { markdown: `# Export timeline: ${md(path)}\n\nThis file exports nothing.\n`, exports: 0 };
    try {
      this.historyAsked.set(path, { names: refs.map((r) => r.name).join(','), at: Date.now() });
      const h = await this.histories().history(path, refs);
      this.historyErrors.delete(path);
      this.republish();
      return { markdown: historyMarkdown(h), exports: h.exports.length };
    } catch (e) {
      throw new ResponseError(2, (e as Error).message);
    }
  }

  // ---- answers ----

  private lineOf(uri: string, line: number): string | undefined {
    const doc = this.documents.get(uri);
    if (doc) return doc.getText(Range.create(line, 0, line + 1, 0)).replace(/\r?\n$/, '');
    const path = this.pathOf(uri);
    return path ? new LineReader(this.root!).line(path, line + 1) : undefined;
  }

  /** The exports an identifier names: the symbol itself, or a tracepoint's generated names. */
  private exportsAt(uri: string, line: number, character: number): Export[] {
    if (!this.index) return [];
    const text = this.lineOf(uri, line);
    const w = text === undefined ? undefined : wordAt(text, character);
    if (!w) return [];
    const direct = this.index.exportsNamed(w.word);
    if (direct.length) return direct;
    const tp = /^(?:trace|register_trace|unregister_trace|register_trace_prio)_(\w+?)(?:_enabled|_rcuidle)?$/.exec(w.word);
    return tp ? this.index.exportsNamed(tp[1]!).filter((e) => e.flavour === 'tracepoint') : [];
  }

  private hover(uri: string, line: number, character: number, token: CancellationToken) {
    if (!this.index) {
      const w = wordAt(this.lineOf(uri, line) ?? '', character);
      return w && this.root ? { contents: 'Kernel Exports: indexing…' } : null;
    }
    const exps = this.exportsAt(uri, line, character);
    if (exps.length === 0 || token.isCancellationRequested) return null;
    const m = this.treeMaintainers();
    return exportHover(this.index, exps, this.settings, (e) => this.historyHoverLine(e), m ? (file) => whoseFiles(m, [file]) : undefined, this.build);
  }

  /** The tree's MAINTAINERS, read once per index for hovers and reviews; null when it has none. */
  private treeMaintainers(): Maintainers | null {
    this.maintainers ??= (this.root && readMaintainers(this.root)) || null;
    return this.maintainers;
  }

  private codeLenses(uri: string) {
    const path = this.pathOf(uri);
    if (!this.settings.lenses || !this.index || !path) return [];
    return lenses(this.index, path, this.settings);
  }

  private codeActions(uri: string, diagnostics: Parameters<typeof gplFixes>[3]) {
    const path = this.pathOf(uri);
    if (!this.index || !path) return [];
    return gplFixes(this.index, uri, path, diagnostics);
  }

  private references(uri: string, line: number, character: number, includeDeclaration: boolean, token: CancellationToken): Location[] {
    return this.index ? references(this.index, this.root!, this.exportsAt(uri, line, character), includeDeclaration, token) : [];
  }

  /** Reviews a series over the live index, then puts the files it touched back as they are. */
  private async review(p: ReviewParams): Promise<ReviewResult> {
    const index = this.index;
    if (!index || !this.root) throw new ResponseError(1, this.root ? 'Kernel Exports is still indexing; try again when it is ready' : 'not a kernel tree: nothing to review against');
    const source = p.source.kind === 'path' ? { kind: 'path' as const, path: uriToPath(p.source.uri) } : p.source;
    let run;
    try {
      run = await runReview(index, this.root, source, {
        gplOnlyPaths: this.settings.gplOnlyPaths,
        testsCountAsConsumers: this.settings.testsCountAsConsumers,
        trusted: this.trusted,
        maintainers: this.treeMaintainers(),
        build: () => this.buildModel ?? undefined,
      });
    } catch (e) {
      throw new ResponseError(2, (e as Error).message);
    }
    for (const path of run.touched) {
      const doc = MAKEFILE.test(path) ? undefined : this.documents.get(treePathToUri(this.root, path));
      if (doc) this.applyDocument(doc);
      else this.guard(() => this.fromDisk(path));
    }
    this.republish();
    if (run.empty) return { markdown: '', reply: '', findings: 0, problems: [], empty: 'no uncommitted changes against HEAD' };
    return {
      markdown: markdown(run.review, run.series, this.root),
      reply: replyText(run.review, run.series),
      findings: run.review.findings.length,
      problems: run.review.problems.map((x) => `${x.source}:${x.line}: ${x.message}`),
    };
  }

  private unused(under: string | undefined, token: CancellationToken): UnusedExport[] {
    if (!this.index) return [];
    const prefix = under ? this.pathOf(under) : undefined;
    return exportsUnused(this.index, this.root!, prefix, this.settings.testsCountAsConsumers, token);
  }
}

/**
 * Export history per file, computed in the background and cached by (path, HEAD): in memory for
 * hovers, which never start git, and in a JSON file beside the index cache, written atomically.
 * One HistoryGit per tree caps the git processes; one computation per file runs at a time.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { consumerNames, isGplOnly } from '../exportMacros';
import type { Export, KernelIndex } from '../index/index';
import { isTestPath, isToolsPath } from '../index/classify';
import { computeFileHistory, type ExportRef, type FileHistory } from './compute';
import { HistoryGit } from './git';
import type { Landing } from './versions';
import { Releases } from './versions';
import { readRegularFile } from '../util/regularFile';

const FORMAT = 2;
/** Files kept in the persisted cache; the oldest entries go first. */
const MAX_ENTRIES = 2000;

export interface HistoryServiceOptions {
  /** Folder of the persisted cache; none: memory only. */
  cacheDir?: string;
  testsCountAsConsumers: boolean;
  log?: (message: string) => void;
}

interface CacheFile {
  format: number;
  root: string;
  entries: [string, FileHistory][];
}

/** The exports of a file as history needs them, from the index. */
export function exportRefs(index: KernelIndex, path: string, testsCount: boolean): ExportRef[] {
  return (index.exportsByFile.get(path) ?? []).map((e: Export) => {
    const r: ExportRef = {
      name: e.name,
      macro: e.macro,
      gplOnly: isGplOnly(e.type),
      line: e.line,
      col: e.col,
      endLine: e.endLine,
      endCol: e.endCol,
      consumerNames: consumerNames(e.flavour, e.name),
      consumerFiles: index.literalUsers(e).filter((f) => !isToolsPath(f) && (testsCount || !isTestPath(f))),
    };
    if (e.wrapper) r.wrapper = e.wrapper;
    return r;
  });
}

/** Where an export is now, as the index has it: edits move lines and change macros after git was asked. */
export type ExportPlace = Pick<ExportRef, 'name' | 'macro' | 'line' | 'col' | 'endLine' | 'endCol'>;

/** A history's rows in the order, at the places and with the macros of the exports now; rows of exports gone are dropped. */
export function relocate(h: FileHistory, exports: readonly ExportPlace[]): FileHistory {
  const rows = exports.flatMap((e) => {
    const row = h.exports.find((x) => x.symbol === e.name);
    return row ? [{ ...row, macro: e.macro, line: e.line, col: e.col, endLine: e.endLine, endCol: e.endCol }] : [];
  });
  return { ...h, exports: rows };
}

export class HistoryService {
  readonly git: HistoryGit;
  private readonly memory = new Map<string, FileHistory>();
  private readonly latest = new Map<string, FileHistory>();
  private readonly running = new Map<string, Promise<FileHistory>>();
  private readonly landings = new Map<string, Landing>();
  private readonly file: string | undefined;
  private loaded = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private tagsKey = '';

  readonly testsCountAsConsumers: boolean;

  constructor(
    readonly root: string,
    private readonly opts: HistoryServiceOptions,
  ) {
    this.testsCountAsConsumers = opts.testsCountAsConsumers;
    this.git = new HistoryGit(root);
    this.file = opts.cacheDir ? join(opts.cacheDir, `history-${createHash('sha1').update(root).digest('hex').slice(0, 16)}.json`) : undefined;
  }

  /** The last history computed for a path, whatever HEAD was: for hovers, without git. */
  peek(path: string): FileHistory | undefined {
    return this.latest.get(path);
  }

  /** The history of a file's exports at the current HEAD: from the cache, or computed. */
  history(path: string, exports: readonly ExportRef[]): Promise<FileHistory> {
    const key = `${path}\0${exports.map((e) => e.name).join(',')}`;
    const running = this.running.get(key);
    if (running) return running;
    const p = this.compute(path, exports).finally(() => this.running.delete(key));
    this.running.set(key, p);
    return p;
  }

  private async compute(path: string, exports: readonly ExportRef[]): Promise<FileHistory> {
    this.load();
    // HEAD first: when git is missing or the tree is not a repository, that is the command named.
    const head = await this.git.head();
    const [tagList, shallow] = await Promise.all([this.git.tags(), this.git.shallowBoundary()]);
    const tagsKey = createHash('sha1')
      .update(
        tagList
          .map((t) => t.tag)
          .sort()
          .join('\n'),
      )
      .digest('hex')
      .slice(0, 12);
    if (tagsKey !== this.tagsKey) {
      this.landings.clear();
      this.tagsKey = tagsKey;
    }
    const key = [path, head, tagsKey, this.opts.testsCountAsConsumers ? 't' : 'n'].join('\0');
    const cached = this.memory.get(key);
    if (cached && exports.every((e) => cached.exports.some((h) => h.symbol === e.name))) return this.remember(path, key, relocate(cached, exports), false);
    const wrappers = new Map<string, boolean>();
    for (const e of exports) if (e.wrapper) wrappers.set(e.wrapper, e.gplOnly);
    const history = await computeFileHistory(path, exports, { git: this.git, releases: new Releases(tagList), head, shallow, landings: this.landings, wrappers });
    return this.remember(path, key, history, true);
  }

  private remember(path: string, key: string, h: FileHistory, fresh: boolean): FileHistory {
    this.latest.set(path, h);
    if (fresh) {
      this.memory.delete(key);
      this.memory.set(key, h);
      while (this.memory.size > MAX_ENTRIES) this.memory.delete(this.memory.keys().next().value!);
      this.scheduleSave();
    }
    return h;
  }

  private load(): void {
    if (this.loaded || !this.file) return;
    this.loaded = true;
    let text: string;
    try {
      text = readRegularFile(this.file, { follow: true, maxBytes: 256 * 1024 * 1024 }).toString('utf8');
    } catch {
      return;
    }
    try {
      const data = JSON.parse(text) as CacheFile;
      if (data.format !== FORMAT || data.root !== this.root || !Array.isArray(data.entries)) throw new Error(`made by another version or for another tree`);
      for (const [k, v] of data.entries) if (typeof k === 'string' && v && Array.isArray(v.exports)) this.memory.set(k, v);
    } catch (e) {
      this.opts.log?.(`history cache ${this.file} is unusable (${(e as Error).message}); rebuilding it`);
    }
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, 200);
  }

  /** Writes the cache now (the CLI, before it exits). */
  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.save();
  }

  private save(): void {
    const file = this.file;
    if (!file) return;
    const data: CacheFile = { format: FORMAT, root: this.root, entries: [...this.memory] };
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(tmp, JSON.stringify(data));
      renameSync(tmp, file);
    } catch (e) {
      this.opts.log?.(`could not write the history cache ${file}: ${(e as Error).message}`);
    }
  }
}

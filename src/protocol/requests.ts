/** Every custom message between client and server, typed once. */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

export interface UnusedExport {
  name: string;
  macro: string;
  license: string;
  uri: string;
  line: number;
  /** What the search found instead of a kernel consumer, if anything. */
  note: string;
}

export interface UnusedExportsParams {
  /** Limit to exports under this folder or file (a file: URI); the whole tree when absent. */
  under?: string;
}

export const unusedExports = new RequestType<UnusedExportsParams, UnusedExport[], void>('kexports/unusedExports');

export const reindex = new RequestType0<void, void>('kexports/reindex');

export type IndexState = 'indexing' | 'ready' | 'error' | 'idle';

export interface StatusParams {
  state: IndexState;
  /** One line for the status bar's tooltip and the log. */
  message: string;
}

export const status = new NotificationType<StatusParams>('kexports/status');

/** What the client passes at initialization. */
export interface InitializationOptions {
  /** Where the index cache may live (the extension's storage folder). */
  cacheDir?: string;
  /**
   * The workspace's trust. False: no git process runs (export history is unavailable). Editors
   * without Workspace Trust leave it out, which means trusted.
   */
  trusted?: boolean;
}

/** The workspace became trusted (VS Code's onDidGrantWorkspaceTrust). */
export const trustGranted = new NotificationType<Record<string, never>>('kexports/trustGranted');

export interface HistoryParams {
  /** The file whose exports to show, as a file: URI. */
  uri: string;
}

export interface HistoryResult {
  /** The export timeline as Markdown; commit subjects are escaped. */
  markdown: string;
  exports: number;
}

export const exportHistory = new RequestType<HistoryParams, HistoryResult, void>('kexports/exportHistory');

/** What to review: a git range (default: the branch against its upstream), uncommitted work, or mail. */
export type ReviewSourceParam = { kind: 'range'; range?: string } | { kind: 'uncommitted' } | { kind: 'path'; uri: string };

export interface ReviewParams {
  source: ReviewSourceParam;
}

export interface ReviewResult {
  /** The rendered report; every text from the series in it is escaped. */
  markdown: string;
  /** The reply in interleaved quoting style. */
  reply: string;
  findings: number;
  /** Input problems, each naming the file and line. */
  problems: string[];
  /** Nothing to review, with the reason. */
  empty?: string;
}

export const reviewSeries = new RequestType<ReviewParams, ReviewResult, void>('kexports/review');

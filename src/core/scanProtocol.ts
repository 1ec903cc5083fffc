/** Messages between the scan pool and its workers. */
import type { ScannedFile } from './scanFile';

export interface WorkerSetup {
  root: string;
  maxBytes: number;
}

export interface WorkerRequest {
  type: 'scan';
  paths: string[];
  wrapperNames?: string[];
}

export interface WorkerReply {
  type: 'batch';
  /** The names this worker interned since its last reply, packed: latin1 bytes and their lengths. */
  names: Uint8Array;
  nameLens: Uint16Array;
  files: ScannedFile[];
}

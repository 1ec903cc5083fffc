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
  /** This worker's id of newNames[0]. */
  nameBase: number;
  newNames: string[];
  files: ScannedFile[];
}

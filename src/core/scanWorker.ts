/**
 * Worker-thread entry: scans the files the pool hands it and posts them back with its new identifier
 * strings, so the pool can map this worker's ids to global ones.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { newScanner, scanPath } from './scanFile';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './scanProtocol';

const setup = workerData as WorkerSetup;
const scanner = newScanner();
let sent = 0;

parentPort!.on('message', (msg: WorkerRequest) => {
  if (msg.type !== 'scan') return;
  const wrappers = msg.wrapperNames ? new Set(msg.wrapperNames) : undefined;
  const files = msg.paths.map((p) => scanPath(scanner, setup.root, p, setup.maxBytes, wrappers));
  const packed = scanner.interner.packSince(sent);
  sent = scanner.interner.size;
  const reply: WorkerReply = { type: 'batch', names: packed.bytes, nameLens: packed.lens, files };
  const transfer = [packed.bytes.buffer as ArrayBuffer, packed.lens.buffer as ArrayBuffer, ...files.flatMap((f) => (f.scan ? [f.scan.uses.buffer as ArrayBuffer] : []))];
  parentPort!.postMessage(reply, transfer);
});

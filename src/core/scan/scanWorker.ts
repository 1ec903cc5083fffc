/**
 * Worker-thread entry: scans the files the pool hands it and posts them back with its new identifier
 * strings, so the pool can map this worker's ids to global ones. On a warm start it compares the
 * cache's directories and Makefiles with the disk instead, reads and checks the cache's large arrays,
 * then stats the cache's files with the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CacheFile } from '../cache/cache';
import { staleDirs, statShare } from '../cache/freshness';
import { nativeAddon, NativeScanner, POOL_SCANNER_NAMES } from './nativeScanner';
import type { StatReply, WorkerReply, WorkerRequest, WorkerSetup } from './scanProtocol';
import { WasmScanner } from './wasmScanner';

const setup = workerData as WorkerSetup;
const addon = setup.native ? nativeAddon() : undefined;
/** The addon where it loads, else the wasm build; made at the first scan: a warm start's worker never scans. */
let scanner: NativeScanner | WasmScanner | undefined;

parentPort!.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'stat') {
    let reply: StatReply;
    let cache: CacheFile | undefined;
    try {
      cache = new CacheFile(msg.cacheFile);
      const { list } = cache;
      reply = { type: 'stat', generation: list.generation };
      const dirs = staleDirs(setup.root, list, !!setup.native, msg.exclude);
      if (!dirs) {
        parentPort!.postMessage(reply);
        return;
      }
      reply.dirs = dirs;
      // The large arrays first: the main thread stats files meanwhile, once it has decoded the rest.
      try {
        const rest = cache.checkedRest();
        reply.rest = rest.buffer;
        reply.restStarts = rest.starts;
      } catch (e) {
        reply.restError = (e as Error).message;
      }
      reply.share = statShare(setup.root, list, new Int32Array(msg.claim), !!setup.native, msg.chunk);
    } catch (e) {
      parentPort!.postMessage({ type: 'stat', error: (e as Error).message } satisfies StatReply);
      return;
    } finally {
      cache?.close();
    }
    parentPort!.postMessage(reply, reply.rest ? [reply.rest, reply.restStarts!.buffer as ArrayBuffer] : []);
    return;
  }
  const wrappers = msg.wrapperNames ? new Set(msg.wrapperNames) : undefined;
  scanner ??= addon ? new NativeScanner(addon, setup.nameLimit) : new WasmScanner(setup.nameLimit ?? POOL_SCANNER_NAMES);
  const raw = scanner.scanRaw(setup.root, msg.paths, setup.maxBytes, wrappers);
  const reply: WorkerReply = { type: 'batch', raw };
  parentPort!.postMessage(
    reply,
    [raw.names, raw.nameLens, raw.uses, raw.proxies, raw.stat, raw.info].map((a) => a.buffer as ArrayBuffer),
  );
});

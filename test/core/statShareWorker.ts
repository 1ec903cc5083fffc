/** For nativeScanner.test.ts: one thread's statShare() on a list shared with the test's thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { statShare } from '../../src/core/cache/freshness';

const { root, list, claim, go, native } = workerData as { root: string; list: Parameters<typeof statShare>[1]; claim: SharedArrayBuffer; go: SharedArrayBuffer; native: boolean };
const start = new Int32Array(go);
parentPort!.postMessage('ready');
Atomics.wait(start, 0, 0);
parentPort!.postMessage(statShare(root, list, new Int32Array(claim), native, 1));

/**
 * Worker-thread entry: reads the tree's build model afresh, writes its cache file, and posts the
 * file's bytes back (transferred, not copied); the main thread decodes what it asks of them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildFresh, type ModelWorkerReply, type ModelWorkerSetup } from './store';

const { root, file } = workerData as ModelWorkerSetup;
const logs: string[] = [];
let reply: ModelWorkerReply;
try {
  const { bytes } = buildFresh(root, file, (m) => logs.push(m));
  // a large Buffer owns its whole ArrayBuffer; a pooled small one is copied out first
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Buffer.from(bytes);
  reply = { logs, bytes: whole.buffer as ArrayBuffer };
} catch (e) {
  reply = { logs, error: (e as Error).message };
}
parentPort!.postMessage(reply, 'bytes' in reply ? [reply.bytes] : []);

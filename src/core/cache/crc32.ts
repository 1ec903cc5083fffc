/**
 * CRC-32 (the zlib/PNG polynomial), for the cache's per-section checks: the addon's where it loads
 * (carry-less multiplies, 2-2.5 times Node's), else Node's zlib.crc32 (Node 20.15 on), which is native
 * and about ten times faster than the table loop that older runtimes fall back to.
 */
import * as zlib from 'node:zlib';
import { nativeAddon } from '../scan/nativeScanner';

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;

export function crc32Portable(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32(data: Uint8Array, value = 0): number {
  const addon = nativeAddon();
  if (addon) return addon.crc32(data, value);
  return native ? native(data, value) >>> 0 : crc32Portable(data, value);
}

/**
 * Opening only regular files. A FIFO in place of a source file, a cache file or a config file made an
 * open() wait for a writer for ever; a link to /dev/zero made a read grow to gigabytes. Every file
 * kexports reads from a tree, a cache or the command line goes through here: opened without waiting,
 * checked to be a regular file, and read up to a limit that holds for the bytes read, not only for the
 * size stat gave.
 */
import { isUtf8 } from 'node:buffer';
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { fsPath } from './fsName';

/** Read flags for a tree file: a FIFO's open never waits for a writer, and a link is not followed, as the walk does not follow one. */
const TREE_FILE_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

export const NOT_REGULAR = 'not a regular file';

/** A path that the walk would not index: a link, a FIFO, a device, a socket. */
export class NotRegularError extends Error {
  constructor(abs: string, what: string) {
    super(`${abs}: ${what}, ${NOT_REGULAR}`);
  }
}

/** Opens a regular file for reading, or throws NotRegularError or the errno's error. */
export function openRegular(abs: string, follow = false): { fd: number; st: BigIntStats } {
  let fd: number;
  try {
    fd = openSync(fsPath(abs), follow ? constants.O_RDONLY | constants.O_NONBLOCK : TREE_FILE_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularError(abs, 'a symbolic link');
    throw e;
  }
  const st = fstatSync(fd, { bigint: true });
  if (!st.isFile()) {
    closeSync(fd);
    throw new NotRegularError(abs, st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'not a file');
  }
  return { fd, st };
}

/** Files named on the command line or in settings may be links; their target must still be a regular file. */
export interface ReadOptions {
  /** Follow a link (a path the user named); tree files are never followed. */
  follow?: boolean;
  /** At most this many bytes; more is a FileTooLargeError. */
  maxBytes?: number;
}

export class FileTooLargeError extends Error {}

/** The whole of a regular file, or a clear error naming it. */
export function readRegularFile(abs: string, opts: ReadOptions = {}): Buffer {
  const max = opts.maxBytes ?? Infinity;
  const { fd, st } = openRegular(abs, opts.follow);
  try {
    if (Number(st.size) > max) throw new FileTooLargeError(`${abs}: ${st.size} bytes, over the ${max}-byte limit`);
    // one buffer of the size stat gave, and a byte more to see the end; grown only if the file grows
    let buf: Buffer = Buffer.allocUnsafe(Number(st.size) + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > max) throw new FileTooLargeError(`${abs}: over the ${max}-byte limit (it grew while it was read)`);
      if (got === buf.length) buf = growKeeping(buf, got);
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A buffer twice the size, holding the first `used` bytes of this one. */
export function growKeeping(buf: Buffer, used: number): Buffer {
  const next = Buffer.allocUnsafe(buf.length * 2);
  buf.copy(next, 0, 0, used);
  return next;
}

/** A file's text for showing: UTF-8 where the file is valid UTF-8, else a byte a character (latin1). */
export function readRegularText(abs: string, opts: ReadOptions = {}): string {
  const buf = readRegularFile(abs, opts);
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}

/**
 * Opening only regular files. A FIFO in place of a source file, a cache file or a config file made an
 * open() wait for a writer for ever; a link to /dev/zero made a read grow to gigabytes. Every file
 * kexports reads from a tree, a cache or the command line goes through here: opened without waiting,
 * checked to be a regular file, and read up to a limit that holds for the bytes read, not only for the
 * size stat gave.
 */
import { isUtf8 } from 'node:buffer';
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
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

/**
 * Reads a whole regular file into the buffers `room` gives: `room(bytes, kept)` returns one of at
 * least `bytes` bytes that holds the first `kept` bytes read so far. The limit holds for the bytes read,
 * not only for the size stat gave: past it, `data` is undefined and `got` says how far it came.
 */
export function readWhole<T extends Uint8Array>(abs: string, maxBytes: number, room: (bytes: number, kept: number) => T, follow = false): { st: BigIntStats; got: number; data: T | undefined } {
  const { fd, st } = openRegular(abs, follow);
  try {
    const size = Number(st.size);
    if (size > maxBytes) return { st, got: size, data: undefined };
    // the size stat gave, and a byte more to see the end; grown only if the file grows
    let buf = room(size + 1, 0);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > maxBytes) return { st, got, data: undefined };
      if (got === buf.length) buf = room(buf.length * 2, got);
    }
    return { st, got, data: buf.subarray(0, got) as T };
  } finally {
    closeSync(fd);
  }
}

/** Why a file could not be read, as a skip says it: NOT_REGULAR for a link, a FIFO or a device, else the errno's name. */
export function unreadableWhy(err: unknown): string {
  return err instanceof NotRegularError ? NOT_REGULAR : ((err as NodeJS.ErrnoException).code ?? String(err));
}

/** The whole of a regular file, or a clear error naming it. */
export function readRegularFile(abs: string, opts: ReadOptions = {}): Buffer {
  const max = opts.maxBytes ?? Infinity;
  let buf = Buffer.alloc(0);
  const read = readWhole(
    abs,
    max,
    (bytes, kept) => {
      const next = Buffer.allocUnsafe(bytes);
      buf.copy(next, 0, 0, kept);
      return (buf = next);
    },
    opts.follow,
  );
  if (read.data) return read.data;
  const size = Number(read.st.size);
  throw new FileTooLargeError(size > max ? `${abs}: ${size} bytes, over the ${max}-byte limit` : `${abs}: over the ${max}-byte limit (it grew while it was read)`);
}

/**
 * A tree file's bytes and its stat as lstat would give them (the link is not followed), with the
 * fewest calls: open, fstat, read, close. A read shorter than asked is taken as the end, as it is
 * for a regular file; one that fills the room reads on, as readWhole does. Undefined when the file
 * is not there; other errors (not regular, over the limit) are thrown as readRegularFile throws them.
 */
export function readTreeFile(abs: string, maxBytes: number): { data: Buffer; st: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(fsPath(abs), TREE_FILE_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new NotRegularError(abs, 'a symbolic link');
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularError(abs, st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : 'not a file');
    if (st.size > maxBytes) throw new FileTooLargeError(`${abs}: ${st.size} bytes, over the ${maxBytes}-byte limit`);
    let buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    for (;;) {
      const want = buf.length - got;
      const n = readSync(fd, buf, got, want, null);
      got += n;
      if (got > maxBytes) throw new FileTooLargeError(`${abs}: over the ${maxBytes}-byte limit (it grew while it was read)`);
      if (n < want) break;
      const next = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(next, 0, 0, got);
      buf = next;
    }
    return { data: buf.subarray(0, got), st };
  } finally {
    closeSync(fd);
  }
}

/** A file's text for showing: UTF-8 where the file is valid UTF-8, else a byte a character (latin1). */
export function readRegularText(abs: string, opts: ReadOptions = {}): string {
  const buf = readRegularFile(abs, opts);
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}

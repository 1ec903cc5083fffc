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

/**
 * Opens a regular file for reading, or throws NotRegularError or the errno's error. Its stat is in
 * nanoseconds (BigIntStats), or, with `bigint` false, as lstat gives it to a cache that compares.
 */
export function openRegular(abs: string, follow?: boolean): { fd: number; st: BigIntStats };
export function openRegular(abs: string, follow: boolean, bigint: false): { fd: number; st: Stats };
export function openRegular(abs: string, follow = false, bigint = true): { fd: number; st: BigIntStats | Stats } {
  let fd: number;
  try {
    fd = openSync(fsPath(abs), follow ? constants.O_RDONLY | constants.O_NONBLOCK : TREE_FILE_FLAGS);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularError(abs, 'a symbolic link');
    throw e;
  }
  const st = bigint ? fstatSync(fd, { bigint: true }) : fstatSync(fd);
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
    return { st, ...readOpened(fd, Number(st.size), maxBytes, room) };
  } finally {
    closeSync(fd);
  }
}

/**
 * readWhole() of a file already open, `size` bytes as its stat said: the size and a byte more, to
 * see the end, grown only if the file grows. A read shorter than asked ends it, as it does for a
 * regular file (one read call fewer for each file than reading on to one that gives nothing).
 */
function readOpened<T extends Uint8Array>(fd: number, size: number, maxBytes: number, room: (bytes: number, kept: number) => T): { got: number; data: T | undefined } {
  if (size > maxBytes) return { got: size, data: undefined };
  let buf = room(size + 1, 0);
  let got = 0;
  for (;;) {
    const want = buf.length - got;
    const n = readSync(fd, buf, got, want, null);
    got += n;
    if (got > maxBytes) return { got, data: undefined };
    if (n < want) break;
    buf = room(buf.length * 2, got);
  }
  return { got, data: buf.subarray(0, got) as T };
}

/** Room for readWhole() in Buffers: each larger one holds what the last had read. */
function growingBuffer(): (bytes: number, kept: number) => Buffer {
  let buf = Buffer.alloc(0);
  return (bytes, kept) => {
    const next = Buffer.allocUnsafe(bytes);
    buf.copy(next, 0, 0, kept);
    return (buf = next);
  };
}

/**
 * Room for readWhole() in one Buffer kept from file to file, grown when a file needs more: for many
 * files each only looked at (the Buffer a read returns is overwritten by the next read).
 */
export function reusedBuffer(first = 1 << 16): (bytes: number, kept: number) => Buffer {
  let buf = Buffer.allocUnsafe(first);
  return (bytes, kept) => {
    if (bytes <= buf.length) return buf;
    const next = Buffer.allocUnsafe(Math.max(bytes, buf.length * 2));
    buf.copy(next, 0, 0, kept);
    return (buf = next);
  };
}

function tooLarge(abs: string, size: number, max: number): FileTooLargeError {
  return new FileTooLargeError(size > max ? `${abs}: ${size} bytes, over the ${max}-byte limit` : `${abs}: over the ${max}-byte limit (it grew while it was read)`);
}

/** Why a file could not be read, as a skip says it: NOT_REGULAR for a link, a FIFO or a device, else the errno's name. */
export function unreadableWhy(err: unknown): string {
  return err instanceof NotRegularError ? NOT_REGULAR : ((err as NodeJS.ErrnoException).code ?? String(err));
}

/** The whole of a regular file, or a clear error naming it. */
export function readRegularFile(abs: string, opts: ReadOptions = {}): Buffer {
  const max = opts.maxBytes ?? Infinity;
  const read = readWhole(abs, max, growingBuffer(), opts.follow);
  if (read.data) return read.data;
  throw tooLarge(abs, Number(read.st.size), max);
}

/**
 * A tree file's bytes and its stat as lstat would give them (the link is not followed), with the
 * fewest calls: open, fstat, read, close. Undefined when the file is not there; other errors (not
 * regular, over the limit) are thrown as readRegularFile throws them.
 */
export function readTreeFile(abs: string, maxBytes: number): { data: Buffer; st: Stats } | undefined {
  let opened: { fd: number; st: Stats };
  try {
    opened = openRegular(abs, false, false);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
  const { fd, st } = opened;
  try {
    const read = readOpened(fd, st.size, maxBytes, growingBuffer());
    if (!read.data) throw tooLarge(abs, st.size, maxBytes);
    return { data: read.data, st };
  } finally {
    closeSync(fd);
  }
}

/** A file's text for showing: UTF-8 where the file is valid UTF-8, else a byte a character (latin1). */
export function readRegularText(abs: string, opts: ReadOptions = {}): string {
  const buf = readRegularFile(abs, opts);
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}

/** The CLI's standard output, written in pieces. */

/**
 * Standard output in pieces of 1 MiB: every export of a tree as JSON Lines is 190,000 writes
 * made one by one (a system call each to a file), 2,000 so. A text is encoded into the piece that
 * is filling, not into a Buffer of its own: the bulk answers' 80,000-character texts, 3.5 GB of
 * them, took 9 s as Buffer.from() and 4 s so. What is written goes out at the next
 * turn of the event loop at the latest, so that an answer is not held while the process goes on
 * (a cold index writes its cache after answering); before anything on stderr; and at the end.
 */
export class BufferedOut {
  static readonly SIZE = 1 << 20;
  private buf = Buffer.allocUnsafe(BufferedOut.SIZE);
  private used = 0;
  private scheduled = false;

  /**
   * `sink` writes the bytes, and says whether it is done with them (a file's write, or a pipe's that
   * took them whole): the buffer is then filled again. A new 1 MiB buffer per piece was external
   * memory until V8 next collected, up to 60 MB of a whole-tree JSON answer's peak.
   */
  constructor(private readonly sink: (bytes: Buffer) => boolean | void) {}

  write(s: string): void {
    // UTF-8 takes at most 3 bytes for a UTF-16 unit
    if (s.length * 3 > BufferedOut.SIZE - this.used) {
      this.flush();
      // as bytes: a string that waits in a pipe's queue may be a rope of a thousand pieces, ten
      // times its text in the heap (every export of linux-6.1 as JSON held 1.2 GB so)
      if (s.length * 3 > BufferedOut.SIZE) {
        this.sink(Buffer.from(s));
        return;
      }
    }
    this.used += this.buf.write(s, this.used);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.used === 0) return;
    const piece = this.buf.subarray(0, this.used);
    this.used = 0;
    // a pipe's write that waits is queued, not copied: the next piece goes to a new buffer
    if (this.sink(piece) !== true) this.buf = Buffer.allocUnsafe(BufferedOut.SIZE);
  }
}

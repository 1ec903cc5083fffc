/**
 * A watch on the LSP base protocol's framing over stdio: `Content-Length: N` headers ended by CRLF CRLF,
 * then N bytes. vscode-jsonrpc waits forever for a header that ends in LF alone, and stops reading
 * after a Content-Length that is not a number; either way the editor sees a server that went silent.
 * This watch reads the same bytes beside it and names what is wrong, so that the server can say so
 * and exit.
 */

const CRLF2 = Buffer.from('\r\n\r\n');
/** No client sends headers this long; a stream that does is not framed as LSP. */
const MAX_HEADER = 64 * 1024;

export class FramingWatch {
  private header: Buffer = Buffer.alloc(0);
  /** Body bytes still to come; 0 while a header is read. */
  private body = 0;

  /** Takes the next chunk; returns what is wrong with the stream, or undefined. Body bytes are skipped, never copied. */
  feed(chunk: Buffer): string | undefined {
    let data = chunk;
    while (data.length) {
      if (this.body > 0) {
        const take = Math.min(this.body, data.length);
        this.body -= take;
        data = data.subarray(take);
        continue;
      }
      const joined = this.header.length ? Buffer.concat([this.header, data]) : data;
      const end = joined.indexOf(CRLF2);
      if (end < 0) {
        this.header = Buffer.from(joined);
        if (joined.includes('\n\n') || joined.includes('\r\n\n')) return 'a header ends in a line feed without a carriage return (LSP wants CRLF)';
        if (joined.length > MAX_HEADER) return `no end of header in ${MAX_HEADER} bytes`;
        return undefined;
      }
      this.header = Buffer.alloc(0);
      const problem = this.headerProblem(joined.subarray(0, end).toString('ascii'));
      if (problem) return problem;
      data = joined.subarray(end + CRLF2.length);
    }
    return undefined;
  }

  /** Checks one header block and sets the body's length from it. */
  private headerProblem(block: string): string | undefined {
    let length: number | undefined;
    for (const f of block.split('\r\n')) {
      const m = /^([^:]+):\s*(.*)$/.exec(f);
      if (!m) return `a header line without a colon: ${JSON.stringify(f.slice(0, 80))}`;
      if (m[1]!.toLowerCase() !== 'content-length') continue;
      if (!/^\d+$/.test(m[2]!)) return `Content-Length is not a number: ${JSON.stringify(m[2]!.slice(0, 40))}`;
      length = Number(m[2]);
    }
    if (length === undefined) return 'a header without Content-Length';
    this.body = length;
    return undefined;
  }
}

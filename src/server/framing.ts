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
  /** Body bytes still to come; -1 while a header is read. */
  private body = -1;

  /** Takes the next chunk; returns what is wrong with the stream, or undefined. */
  feed(chunk: Buffer): string | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.body > 0) {
        const take = Math.min(this.body, chunk.length - at);
        this.body -= take;
        at += take;
        if (this.body === 0) this.body = -1;
        continue;
      }
      this.header = Buffer.concat([this.header, chunk.subarray(at)]);
      at = chunk.length;
      const end = this.header.indexOf(CRLF2);
      if (end < 0) {
        if (this.header.includes('\n\n') || this.header.includes('\r\n\n')) return 'a header ends in a line feed without a carriage return (LSP wants CRLF)';
        if (this.header.length > MAX_HEADER) return `no end of header in ${MAX_HEADER} bytes`;
        return undefined;
      }
      const fields = this.header.subarray(0, end).toString('ascii').split('\r\n');
      const rest = this.header.subarray(end + CRLF2.length);
      this.header = Buffer.alloc(0);
      let length: number | undefined;
      for (const f of fields) {
        const m = /^([^:]+):\s*(.*)$/.exec(f);
        if (!m) return `a header line without a colon: ${JSON.stringify(f.slice(0, 80))}`;
        if (m[1]!.toLowerCase() !== 'content-length') continue;
        if (!/^\d+$/.test(m[2]!)) return `Content-Length is not a number: ${JSON.stringify(m[2]!.slice(0, 40))}`;
        length = Number(m[2]);
      }
      if (length === undefined) return 'a header without Content-Length';
      this.body = length === 0 ? -1 : length;
      if (rest.length) {
        const problem = this.feed(rest);
        if (problem) return problem;
      }
    }
    return undefined;
  }
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import PostalMime from 'postal-mime';
import { parseMail } from '../../src/core/review/series';

// parseMail() takes a plain body as it stands and leaves the rest to postal-mime: what it gives must
// be what postal-mime gives, for every mix of headers and body.
const contentType = fc.constantFrom(
  undefined,
  'text/plain',
  'text/plain; charset=UTF-8',
  'text/plain; charset="utf-8"',
  'TEXT/PLAIN; CHARSET=us-ascii',
  'text/plain; charset=iso-8859-1',
  'text/plain; charset=utf-8; format=flowed',
  'text/plain; format="flowed"; delsp=yes',
  'text/html; charset=utf-8',
  'multipart/mixed; boundary="b1"',
);
const encoding = fc.constantFrom(undefined, '7bit', '8bit', 'BINARY', 'quoted-printable', 'base64');
const line = fc.constantFrom('diff --git a/x.c b/x.c', '+\tint x;', ' ctx ', '-Rafał Miłecki', '=3D=C5=82', '--b1', '', 'a  ', 'Zm9vYmFy', '\t');
const body = fc.tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean()).map(([lines, eol, last]) => lines.join(eol) + (last ? eol : ''));

describe('mail parsing', () => {
  it('gives what postal-mime gives, the body taken as it stands or not', async () => {
    await fc.assert(
      fc.asyncProperty(contentType, encoding, body, fc.constantFrom('\n', '\r\n'), async (type, cte, text, eol) => {
        const headers = [
          'From: Rafał Miłecki <rafal@example.org>',
          'Subject: [PATCH 1/2] mm: export it',
          ...(type ? [`Content-Type: ${type}`] : []),
          ...(cte ? [`Content-Transfer-Encoding: ${cte}`] : []),
        ];
        const raw = `${headers.join(eol)}${eol}${eol}${text}`;
        const want = await PostalMime.parse(raw);
        const got = await parseMail(raw);
        assert.deepEqual([got.text, got.subject, got.from, got.attachments.length], [want.text, want.subject, want.from, want.attachments.length]);
      }),
      { numRuns: 400 },
    );
  });

  it('takes a git format-patch mail as it stands, non-ASCII names and all', async () => {
    const raw = 'From: A <a@b>\nSubject: [PATCH] x\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\nSigned-off-by: Rafał Miłecki <r@m>\n---\n';
    assert.equal((await parseMail(raw)).text, 'Signed-off-by: Rafał Miłecki <r@m>\n---\n');
  });
});

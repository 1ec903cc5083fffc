import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cutSignature, parseDiff } from '../../src/core/review/diff';

const files = (text: string): string[] => parseDiff(text).files.map((f) => `${f.type} ${f.oldPath} -> ${f.newPath}${f.error ? ` ! ${f.error}` : ''}`);

describe('the diff reader', () => {
  it('reads git’s form with and without prefixes, quoted names, renames, new, deleted and binary files', () => {
    assert.deepEqual(
      files(
        [
          'diff --git a/mm/hmm.c b/mm/hmm.c\n--- a/mm/hmm.c\n+++ b/mm/hmm.c\n@@ -1 +1 @@\n-a\n+b\n',
          'diff --git a/mm/old.c b/mm/new.c\nsimilarity index 90%\nrename from mm/old.c\nrename to mm/new.c\n',
          'diff --git a/mm/added.c b/mm/added.c\nnew file mode 100644\n--- /dev/null\n+++ b/mm/added.c\n@@ -0,0 +1 @@\n+x\n',
          'diff --git a/mm/gone.c b/mm/gone.c\ndeleted file mode 100644\n--- a/mm/gone.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n',
          'diff --git "a/mm/t\\tab.c" "b/mm/t\\tab.c"\n--- "a/mm/t\\tab.c"\n+++ "b/mm/t\\tab.c"\n@@ -1 +1 @@\n-a\n+b\n',
          'diff --git a/fw.bin b/fw.bin\nindex 1..2 100644\nBinary files a/fw.bin and b/fw.bin differ\n',
        ].join(''),
      ),
      [
        'modify mm/hmm.c -> mm/hmm.c',
        'rename mm/old.c -> mm/new.c',
        'add /dev/null -> mm/added.c',
        'delete mm/gone.c -> /dev/null',
        'modify mm/t\tab.c -> mm/t\tab.c ! the path "a/mm/t\\tab.c" holds control characters',
        'modify fw.bin -> fw.bin',
      ],
    );
    assert.deepEqual(files('diff --git mm/hmm.c mm/hmm.c\n--- mm/hmm.c\n+++ mm/hmm.c\n@@ -1 +1 @@\n-a\n+b\n'), ['modify mm/hmm.c -> mm/hmm.c'], 'diff.noprefix');
    assert.deepEqual(files('diff --git mm/new.c mm/new.c\nnew file mode 100644\n--- /dev/null\n+++ mm/new.c\n@@ -0,0 +1 @@\n+x\n'), ['add /dev/null -> mm/new.c'], 'diff.noprefix, a new file');
    assert.deepEqual(files('diff --git i/mm/hmm.c w/mm/hmm.c\n--- i/mm/hmm.c\n+++ w/mm/hmm.c\n@@ -1 +1 @@\n-a\n+b\n'), ['modify mm/hmm.c -> mm/hmm.c'], 'diff.mnemonicPrefix');
  });

  it('reads the plain form quilt writes, with timestamps and Index: lines, as patch -p1 does', () => {
    const quilt =
      'Index: linux-6.1/drivers/nvmem/core.c\n===================================================================\n--- linux-6.1.orig/drivers/nvmem/core.c\t2024-01-01 00:00:00.000000000 +0000\n+++ linux-6.1/drivers/nvmem/core.c\t2024-01-02 00:00:00.000000000 +0000\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n--- a/drivers/nvmem/new.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n';
    const d = parseDiff(quilt);
    assert.equal(d.form, 'plain');
    assert.deepEqual(files(quilt), ['modify drivers/nvmem/core.c -> drivers/nvmem/core.c', 'delete drivers/nvmem/new.c -> /dev/null']);
  });

  it('numbers the lines of zero-line hunks as git apply does', () => {
    const [f] = parseDiff('--- a/mm/hmm.c\n+++ b/mm/hmm.c\n@@ -60,0 +61,2 @@\n+x\n+y\n@@ -70 +71,0 @@\n-z\n').files;
    assert.deepEqual(
      f!.hunks.map((h) => [h.content, h.oldStart, h.oldLines, h.changes.map((c) => `${c.type}:${c.type === 'normal' ? c.newLineNumber : c.lineNumber}`)]),
      [
        ['@@ -60,0 +61,2 @@', 61, 0, ['insert:61', 'insert:62']],
        ['@@ -70 +71,0 @@', 70, 1, ['delete:70']],
      ],
    );
  });

  it('marks the file whose hunk is cut short, and reads the others', () => {
    assert.deepEqual(files('diff --git a/a.c b/a.c\n--- a/a.c\n+++ b/a.c\n@@ -1,3 +1,3 @@\n x\n-y\ndiff --git a/b.c b/b.c\n--- a/b.c\n+++ b/b.c\n@@ -1 +1 @@\n-a\n+b\n'), [
      'modify a.c -> a.c ! hunk 1 (@@ -1,3 +1,3 @@) is cut short: it declares 3 old and 3 new lines but holds 2 and 1',
      'modify b.c -> b.c',
    ]);
  });

  it('cuts a mail signature, but never a removed line that reads "- "', () => {
    assert.equal(cutSignature('@@ -1,2 +1 @@\n a\n-- \n-- \n2.39.5\n'), '@@ -1,2 +1 @@\n a\n-- \n');
    assert.equal(cutSignature('@@ -1 +0,0 @@\n-- \n'), '@@ -1 +0,0 @@\n-- \n');
    assert.deepEqual(files('--- a/x.c\n+++ b/x.c\n@@ -1 +0,0 @@\n-- \n'), ['modify x.c -> x.c']);
  });
});

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { copySampleTree, runCli, tempDir } from '../helpers';
import { edit, git, seriesRepo } from '../seriesRepo';

const expected = [
  'warning NOT_GPL_ONLY 1 hmm_range_dma_unused mm/hmm.c:65',
  'warning NEW_EXPORT_NO_CONSUMER 1 hmm_range_dma_unused mm/hmm.c:65',
  'warning UNCONSUMED_EXPORTS_NEARBY 1 hmm_range_dma_unused mm/hmm.c:65',
  'info CONSUMER_IN_LATER_PATCH 2 migrate_vma_pages_sample mm/migrate_device.c:21',
  'warning UNCONSUMED_EXPORTS_NEARBY 2 migrate_vma_pages_sample mm/migrate_device.c:21',
  'error MISSING_NAMESPACE_IMPORT 3 devm_cxl_add_port_sample drivers/cxl/mem_sample.c:4',
  'warning LICENSE_RELAXED 4 memunmap_pages mm/memremap.c:21',
  'error REMOVED_EXPORT_STILL_USED 6 put_devmap_managed_page mm/memremap.c:27',
];

interface ReviewJson {
  patches: { index: number; total: number; subject: string; added: { name: string; firstConsumer?: { patch: number | string; file: string } }[] }[];
  findings: { severity: string; code: string; patch: number; symbol: string; file: string; line: number; message: string }[];
  replies: number;
  cover?: { subject: string };
}

const rows = (r: ReviewJson): string[] => r.findings.map((f) => `${f.severity} ${f.code} ${f.patch} ${f.symbol} ${f.file}:${f.line}`);

describe('kexports review', () => {
  let repo: string;
  before(() => {
    repo = seriesRepo();
  });

  it('reviews a git range patch by patch, with the exact findings', () => {
    const r = runCli(['review', 'v1..HEAD', '--format', 'json'], { cwd: repo });
    assert.equal(r.code, 1, r.stderr);
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(
      review.patches.map((p) => `${p.index}/${p.total} ${p.subject}`),
      [
        '1/6 mm/hmm: add hmm_range_dma_unused()',
        '2/6 mm/migrate_device: add migrate_vma_pages_sample()',
        '3/6 cxl/mem: probe ports',
        '4/6 mm/memremap: export memunmap_pages() to all modules',
        '5/6 drm/vgpu: migrate pages',
        '6/6 mm/memremap: stop exporting put_devmap_managed_page()',
      ],
    );
    assert.deepEqual(rows(review), expected);
    assert.deepEqual(review.patches[1]!.added, [
      {
        name: 'migrate_vma_pages_sample',
        macro: 'EXPORT_SYMBOL_GPL',
        license: 'GPL-only',
        namespace: null,
        file: 'mm/migrate_device.c',
        line: 21,
        firstConsumer: { patch: 5, file: 'drivers/gpu/drm/vgpu/vgpu_svm.c', line: 37 },
        consumerCount: 1,
        consumers: [{ file: 'drivers/gpu/drm/vgpu/vgpu_svm.c', line: 37, cls: 'driver' }],
      },
    ]);
    const byCode = new Map(review.findings.map((f) => [f.code, f.message]));
    assert.equal(byCode.get('MISSING_NAMESPACE_IMPORT'), 'modpost: module drivers/cxl/mem_sample uses symbol devm_cxl_add_port_sample from namespace CXL, but does not import it.');
    // the finding names whose code uses the export, from the sample tree's MAINTAINERS
    assert.equal(
      byCode.get('REMOVED_EXPORT_STILL_USED'),
      'put_devmap_managed_page is no longer exported but 1 file uses it: drivers/gpu/drm/vgpu/vgpu_svm.c:22; modpost: "put_devmap_managed_page" [drivers/gpu/drm/vgpu/vgpu_svm.ko] undefined! (maintainers: Vgpu Person <vgpu@example.invalid>, Dave Sample <airlied@example.invalid>; lists: vgpu@lists.example.invalid, dri-devel@lists.example.invalid, linux-kernel@vger.kernel.org)',
    );
    assert.equal(
      byCode.get('NEW_EXPORT_NO_CONSUMER'),
      'hmm_range_dma_unused is newly exported but nothing in the series or the tree uses it (rule 2: a new export needs an in-tree user) (maintainers: Sample Maintainer <hmm@example.invalid>, New Name <mm@example.invalid>; lists: linux-mm@kvack.org, linux-kernel@vger.kernel.org)',
    );
    assert.equal(
      byCode.get('LICENSE_RELAXED'),
      'memunmap_pages goes from EXPORT_SYMBOL_GPL (GPL-only) to EXPORT_SYMBOL (any license): modules under any license can now use it',
      'memunmap_pages has no users to tell',
    );
    assert.equal(byCode.get('CONSUMER_IN_LATER_PATCH'), 'migrate_vma_pages_sample gets its first consumer in patch 5/6: drivers/gpu/drm/vgpu/vgpu_svm.c:37');
    const rule3 = review.findings.find((f) => f.code === 'UNCONSUMED_EXPORTS_NEARBY' && f.patch === 1)!;
    assert.equal(
      rule3.message,
      'hmm_range_dma_unused is a new export in mm/, where 5 exports have no consumer (rule 3): hmm_range_snapshot_unused (mm/hmm.c:51), memunmap_pages (mm/memremap.c:21), migrate_vma_unmap (mm/migrate_device.c:27), migrate_vma_finalize (mm/migrate_device.c:34), migrate_vma_finalize (mm/migrate_device.c:35)',
    );
  });

  it('gives the same review from the mbox git format-patch writes', () => {
    const mbox = join(tempDir(), 'series.mbox');
    writeFileSync(mbox, git(repo, 'format-patch', '--stdout', 'v1..HEAD'));
    git(repo, 'checkout', '-q', 'v1');
    try {
      const r = runCli(['review', mbox, '--tree', repo, '--format', 'json']);
      assert.deepEqual(rows(JSON.parse(r.stdout) as ReviewJson), expected);
    } finally {
      git(repo, 'checkout', '-q', 'main');
    }
  });

  it('gives Patchwork check results, one per patch and one for the series', () => {
    const r = runCli(['review', 'v1..HEAD', '--format', 'patchwork'], { cwd: repo });
    assert.equal(r.code, 1, r.stderr);
    const c = JSON.parse(r.stdout) as {
      series: { state: string; context: string; description: string; target_url: string };
      patches: { patch: string; state: string; description: string; target_url: string }[];
    };
    assert.deepEqual(c.series, {
      state: 'fail',
      description: '2 errors, 5 warnings; MISSING_NAMESPACE_IMPORT: modpost: module drivers/cxl/mem_sample uses symbol devm_cxl_add_port_sample from namespace CXL, but does not import it.',
      context: 'kexports',
      target_url: 'https://github.com/kexports/kexports/blob/main/README.md#reviewing-a-series',
    });
    assert.deepEqual(
      c.patches.map((p) => `${p.patch} ${p.state}`),
      ['1/6 warning', '2/6 warning', '3/6 fail', '4/6 warning', '5/6 success', '6/6 fail'],
    );
    assert.equal(c.patches[4]!.description, 'exports keep the rules');
    assert.equal(c.patches[0]!.target_url, 'https://github.com/kexports/kexports/blob/main/README.md#not_gpl_only');
    assert.ok(c.patches.every((p) => p.description.length <= 255));
  });

  it('prints text a reviewer reads, and exits by --fail-on', () => {
    const r = runCli(['review', 'HEAD~2..HEAD~1', '--fail-on', 'error'], { cwd: repo });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '[PATCH 1/1] drm/vgpu: migrate pages\n\ntotal: 0 errors, 0 warnings, 0 infos, 1 patches\n');
  });

  it('writes the reply in interleaved quoting style, the finding under the line it concerns', () => {
    const r = runCli(['review', 'HEAD~3..HEAD~2', '--format', 'reply'], { cwd: repo });
    // whom to answer comes first: mm/memremap.c's maintainers, then its lists
    assert.equal(
      r.stdout,
      `To: Sample Maintainer <hmm@example.invalid>, New Name <mm@example.invalid>
Cc: linux-mm@kvack.org, linux-kernel@vger.kernel.org

On 2026-01-01T00:00:00.000Z, A Developer <dev@example.invalid> wrote:
> [PATCH 1/1] mm/memremap: export memunmap_pages() to all modules

> diff --git a/mm/memremap.c b/mm/memremap.c
> @@ -18,7 +18,7 @@ void memunmap_pages(struct dev_pagemap *pgmap)
> [...]
>  	pgmap->owner = NULL;
>  }
> -EXPORT_SYMBOL_GPL(memunmap_pages);
> +EXPORT_SYMBOL(memunmap_pages);

memunmap_pages goes from EXPORT_SYMBOL_GPL (GPL-only) to EXPORT_SYMBOL
(any license): modules under any license can now use it
`,
    );
  });

  it('reviews uncommitted work against HEAD', () => {
    edit(repo, 'mm/page_walk.c', 'EXPORT_SYMBOL_GPL(walk_page_range_sample);', 'EXPORT_SYMBOL(walk_page_range_sample);');
    try {
      const r = runCli(['review', '--uncommitted', '--format', 'json'], { cwd: repo });
      const review = JSON.parse(r.stdout) as ReviewJson;
      assert.deepEqual(
        review.patches.map((p) => p.subject),
        ['uncommitted changes against HEAD'],
      );
      assert.deepEqual(rows(review), ['warning LICENSE_RELAXED 1 walk_page_range_sample mm/page_walk.c:10']);
    } finally {
      git(repo, 'checkout', '--', 'mm/page_walk.c');
    }
    const clean = runCli(['review', '--uncommitted'], { cwd: repo });
    assert.equal(clean.code, 0);
    assert.equal(clean.stderr, 'kexports: no uncommitted changes against HEAD\n');
  });

  it('takes the branch against its upstream by default, and A...B, A.. and a single revision', () => {
    git(repo, 'branch', '-f', 'upstream-base', 'v1');
    git(repo, 'branch', '--set-upstream-to=upstream-base', 'main');
    const r = runCli(['review', '--format', 'json'], { cwd: repo });
    assert.deepEqual(rows(JSON.parse(r.stdout) as ReviewJson), expected);
    for (const range of ['v1...HEAD', 'HEAD~6..', 'v1']) {
      const x = runCli(['review', range, '--format', 'json'], { cwd: repo });
      assert.deepEqual(rows(JSON.parse(x.stdout) as ReviewJson), expected, range);
    }
  });

  it('follows renames, mode changes and binary parts', () => {
    const r2 = seriesRepo();
    git(r2, 'mv', 'mm/page_walk.c', 'mm/pagewalk.c');
    git(r2, 'update-index', '--chmod=+x', 'mm/hmm.c');
    writeFileSync(join(r2, 'firmware.bin'), Buffer.from([0, 1, 2, 3, 255]));
    git(r2, 'add', '-A');
    git(r2, 'commit', '-q', '-m', 'mm: rename page_walk.c, add a blob');
    const r = runCli(['review', 'HEAD~1..HEAD', '--format', 'json'], { cwd: r2 });
    const review = JSON.parse(r.stdout) as ReviewJson & { problems: unknown[] };
    assert.deepEqual(review.problems, []);
    assert.deepEqual(
      review.patches[0]!.added.map((a) => `${a.name} ${(a as { file?: string }).file}`),
      ['walk_page_range_sample mm/pagewalk.c'],
    );
    assert.ok(!rows(review).some((x) => x.includes('REMOVED_EXPORT_STILL_USED') || x.includes('PATCH_DOES_NOT_APPLY')), rows(review).join('\n'));
  });

  it('says what is wrong with a range that does not resolve', () => {
    const r = runCli(['review', 'nosuchtag..HEAD'], { cwd: repo });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kexports: git rev-parse --verify nosuchtag\^\{commit\} failed: /);
  });
});

describe('kexports review of mail', () => {
  it('reads quoted-printable and base64 patches, a cover letter and a reply, in series order', () => {
    const tree = copySampleTree();
    const qp = (s: string): string => s.replace(/=/g, '=3D').replace(/\t/g, '=09');
    const patch1 = `diff --git a/mm/hmm.c b/mm/hmm.c\nindex 1111111..2222222 100644\n--- a/mm/hmm.c\n+++ b/mm/hmm.c\n@@ -36,7 +36,7 @@ int hmm_range_fault(struct hmm_range *range)\n \ttrace_hmm_fault_done(range->start, ret);\n \treturn ret;\n }\n-EXPORT_SYMBOL(hmm_range_fault);\n+EXPORT_SYMBOL_GPL(hmm_range_fault);\n \n int hmm_dma_test_helper(struct hmm_range *range, int order)\n {\n`;
    const patch2 = `diff --git a/mm/page_walk.c b/mm/page_walk.c\nindex 3333333..4444444 100644\n--- a/mm/page_walk.c\n+++ b/mm/page_walk.c\n@@ -8,3 +8,9 @@ int walk_page_range_sample(unsigned long start, unsigned long end)\n \treturn start < end;\n }\n EXPORT_SYMBOL_GPL(walk_page_range_sample);\n+\n+int walk_page_range_unused(void)\n+{\n+\treturn 0;\n+}\n+EXPORT_SYMBOL_GPL(walk_page_range_unused);\n`;
    const mbox = [
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: =?UTF-8?Q?J=C3=B6rg_Maintainer?= <jm@example.invalid>',
      'Subject: [PATCH v2 0/2] mm: tidy the HMM exports',
      'Message-Id: <cover@example.invalid>',
      '',
      'Two patches.',
      '',
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: A Developer <dev@example.invalid>',
      'Subject: [PATCH v2 2/2] mm/page_walk: add walk_page_range_unused()',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      'In-Reply-To: <cover@example.invalid>',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'The diff is attached.',
      '--b',
      'Content-Type: text/x-patch; name="0002.patch"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="0002.patch"',
      '',
      ...(Buffer.from(patch2)
        .toString('base64')
        .match(/.{1,76}/g) ?? []),
      '--b--',
      '',
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: A Developer <dev@example.invalid>',
      'Subject: =?UTF-8?Q?[PATCH_v2_1/2]_mm/hmm:_make_hmm=5Frange=5Ffault()_GPL-only?=',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: quoted-printable',
      'In-Reply-To: <cover@example.invalid>',
      '',
      'As asked on linux-mm.',
      '',
      '---',
      qp(patch1),
      '',
      'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
      'From: A Reviewer <rev@example.invalid>',
      'Subject: Re: [PATCH v2 1/2] mm/hmm: make hmm_range_fault() GPL-only',
      'In-Reply-To: <p1@example.invalid>',
      '',
      '> -EXPORT_SYMBOL(hmm_range_fault);',
      'Acked-by: A Reviewer',
      '',
    ].join('\n');
    const file = join(tempDir(), 'v2.mbox');
    writeFileSync(file, mbox);
    const r = runCli(['review', file, '--tree', tree, '--format', 'json']);
    assert.equal(r.stderr, 'kexports: ignored 1 reply\n');
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.equal(review.cover?.subject, 'mm: tidy the HMM exports');
    assert.deepEqual(
      review.patches.map((p) => `${p.index}/${p.total} ${p.subject}`),
      ['1/2 mm/hmm: make hmm_range_fault() GPL-only', '2/2 mm/page_walk: add walk_page_range_unused()'],
    );
    assert.deepEqual(rows(review), [
      'info LICENSE_TIGHTENED 1 hmm_range_fault mm/hmm.c:39',
      'warning NEW_EXPORT_NO_CONSUMER 2 walk_page_range_unused mm/page_walk.c:16',
      'warning UNCONSUMED_EXPORTS_NEARBY 2 walk_page_range_unused mm/page_walk.c:16',
    ]);
  });

  it('reports a hunk that does not apply and input that is no mail, and reviews the rest', () => {
    const tree = copySampleTree();
    const dir = tempDir();
    writeFileSync(
      join(dir, '0001-bad.patch'),
      'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH 1/2] mm: a stale patch\n\n---\ndiff --git a/mm/hmm.c b/mm/hmm.c\n--- a/mm/hmm.c\n+++ b/mm/hmm.c\n@@ -1,2 +1,2 @@\n-this line is not in the file\n+nor is this one\n context neither\n',
    );
    writeFileSync(
      join(dir, '0002-good.patch'),
      'From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH 2/2] mm/memremap: relax memunmap_pages\n\n---\ndiff --git a/mm/memremap.c b/mm/memremap.c\n--- a/mm/memremap.c\n+++ b/mm/memremap.c\n@@ -18,4 +18,4 @@ void memunmap_pages(struct dev_pagemap *pgmap)\n {\n \tpgmap->owner = NULL;\n }\n-EXPORT_SYMBOL_GPL(memunmap_pages);\n+EXPORT_SYMBOL(memunmap_pages);\n',
    );
    writeFileSync(join(dir, 'notes.eml'), 'just some text, no headers at all\n');
    const r = runCli(['review', dir, '--tree', tree, '--format', 'json']);
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(rows(review), ['error PATCH_DOES_NOT_APPLY 1  mm/hmm.c:0', 'warning LICENSE_RELAXED 2 memunmap_pages mm/memremap.c:21']);
    assert.match(r.stderr, /0001-bad\.patch:\d+: patch 1\/2 "mm: a stale patch": mm\/hmm\.c: hunk 1 \(@@ -1,2 \+1,2 @@\) does not apply\n/);
    assert.match(r.stderr, /notes\.eml:1: neither an mbox, a mail nor a diff\n/);
  });

  it('reports a truncated diff with the patch and line', () => {
    const tree = copySampleTree();
    const file = join(tempDir(), 'cut.patch');
    writeFileSync(
      file,
      'From 5555555555555555555555555555555555555555 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH] mm/memremap: cut short\n\n---\ndiff --git a/mm/memremap.c b/mm/memremap.c\n--- a/mm/memremap.c\n+++ b/mm/memremap.c\n@@ -18,6 +18,6 @@ void memunmap_pages(struct dev_pagemap *pgmap)\n {\n \tpgmap->owner = NULL;\n',
    );
    const r = runCli(['review', file, '--tree', tree, '--format', 'json']);
    assert.deepEqual(rows(JSON.parse(r.stdout) as ReviewJson), ['error PATCH_DOES_NOT_APPLY 1  mm/memremap.c:0']);
    assert.equal(r.stderr, `kexports: ${file}:6: patch 1/1 "mm/memremap: cut short": mm/memremap.c: hunk 1 (@@ -18,6 +18,6 @@) is cut short: it declares 6 old and 6 new lines but holds 2 and 2\n`);
  });

  it('reports a call of a symbol defined elsewhere but not exported, as modpost would', () => {
    const tree = copySampleTree();
    const file = join(tempDir(), 'call.patch');
    writeFileSync(
      file,
      'From 4444444444444444444444444444444444444444 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH] drm/vgpu: advise\n\n---\ndiff --git a/drivers/gpu/drm/vgpu/vgpu_svm.c b/drivers/gpu/drm/vgpu/vgpu_svm.c\n--- a/drivers/gpu/drm/vgpu/vgpu_svm.c\n+++ b/drivers/gpu/drm/vgpu/vgpu_svm.c\n@@ -36,3 +36,3 @@ static int vgpu_migrate(struct migrate_vma *args)\n {\n-\treturn migrate_vma_setup(args);\n+\treturn migrate_vma_setup(args) ?: madvise_sample(0, 4096) ?: hmm_vma_walk_range(NULL);\n }\n',
    );
    const r = runCli(['review', file, '--tree', tree, '--format', 'json']);
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(rows(review), ['error UNEXPORTED_SYMBOL_USE 1 madvise_sample drivers/gpu/drm/vgpu/vgpu_svm.c:37']);
    assert.equal(review.findings[0]!.message, 'modpost: "madvise_sample" [drivers/gpu/drm/vgpu/vgpu_svm.ko] undefined!: madvise_sample is defined in mm/madvise_sample.c:7 (vmlinux) but not exported');
  });

  it('applies a Makefile change: the exports of its directory move namespace, and users that do not import it are reported', () => {
    const tree = copySampleTree();
    const file = join(tempDir(), 'ns.patch');
    writeFileSync(
      file,
      'From 5555555555555555555555555555555555555555 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH] usb-storage: rename the namespace\n\n---\ndiff --git a/drivers/usb/storage/Makefile b/drivers/usb/storage/Makefile\n--- a/drivers/usb/storage/Makefile\n+++ b/drivers/usb/storage/Makefile\n@@ -3 +3 @@\n-ccflags-y := -DDEFAULT_SYMBOL_NAMESPACE=USB_STORAGE\n+ccflags-y := -DDEFAULT_SYMBOL_NAMESPACE=USB_STORAGE_CORE\n',
    );
    const r = runCli(['review', file, '--tree', tree, '--format', 'json']);
    const review = JSON.parse(r.stdout) as ReviewJson & { problems: unknown[] };
    assert.deepEqual(review.problems, []);
    assert.deepEqual(rows(review), [
      'error MISSING_NAMESPACE_IMPORT 1 usb_stor_probe_sample drivers/usb/storage/uas_sample.c:7',
      'info NAMESPACE_CHANGED 1 usb_stor_probe_sample drivers/usb/storage/usb.c:9',
    ]);
    assert.equal(
      review.findings[0]!.message,
      'modpost: module drivers/usb/storage/uas_sample uses symbol usb_stor_probe_sample from namespace USB_STORAGE_CORE, but does not import it (patch 1/1 moves usb_stor_probe_sample from USB_STORAGE into USB_STORAGE_CORE)',
    );
  });

  it('never counts an export the series adds among the existing unconsumed ones, though a Makefile in the same patch resolves every export again', () => {
    const tree = copySampleTree();
    const file = join(tempDir(), 'rule3.patch');
    writeFileSync(
      file,
      'From 5555555555555555555555555555555555555555 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH] usb-storage: add a quirk helper\n\n---\n' +
        'diff --git a/drivers/usb/storage/quirks.c b/drivers/usb/storage/quirks.c\nnew file mode 100644\n--- /dev/null\n+++ b/drivers/usb/storage/quirks.c\n@@ -0,0 +1,5 @@\n+int usb_stor_quirk_sample(void)\n+{\n+\treturn 0;\n+}\n+EXPORT_SYMBOL_GPL(usb_stor_quirk_sample);\n' +
        'diff --git a/drivers/usb/storage/Makefile b/drivers/usb/storage/Makefile\n--- a/drivers/usb/storage/Makefile\n+++ b/drivers/usb/storage/Makefile\n@@ -5 +5 @@\n-obj-y += usb.o uas_sample.o\n+obj-y += usb.o uas_sample.o quirks.o\n',
    );
    const review = JSON.parse(runCli(['review', file, '--tree', tree, '--format', 'json']).stdout) as ReviewJson;
    const rule3 = review.findings.filter((f) => f.code === 'UNCONSUMED_EXPORTS_NEARBY');
    // the directory's one other export has a consumer: nothing is left for rule 3 to name
    assert.deepEqual(
      rule3.map((f) => f.message),
      [],
    );
    assert.deepEqual(rows(review), ['warning NEW_EXPORT_NO_CONSUMER 1 usb_stor_quirk_sample drivers/usb/storage/quirks.c:5']);
  });

  it('escapes text from patches in the Markdown report', () => {
    const tree = copySampleTree();
    const file = join(tempDir(), 'evil.patch');
    writeFileSync(
      file,
      'From 3333333333333333333333333333333333333333 Mon Sep 17 00:00:00 2001\nFrom: <script>alert(1)</script> <x@example.invalid>\nSubject: [PATCH] <img src=x onerror=alert(1)> *bold* [link](http://x)\n\n---\ndiff --git a/mm/page_walk.c b/mm/page_walk.c\n--- a/mm/page_walk.c\n+++ b/mm/page_walk.c\n@@ -10,1 +10,1 @@\n-EXPORT_SYMBOL_GPL(walk_page_range_sample);\n+EXPORT_SYMBOL(walk_page_range_sample);\n',
    );
    const r = runCli(['review', file, '--tree', tree, '--format', 'markdown']);
    assert.doesNotMatch(r.stdout, /<img|<script/);
    assert.match(r.stdout, /\| 1\/1 \| &lt;img src=x onerror=alert\\\(1\\\)&gt; \\\*bold\\\* \\\[link\\\]\\\(http:\/\/x\\\) \|/);
  });
});

describe('kexports review of quilt-form patches', () => {
  it('reads --- a/F / +++ b/F diffs without diff --git lines, as patch -p1 and git apply do', () => {
    const tree = copySampleTree();
    const dir = tempDir();
    // as OpenWrt and quilt keep them: a mail header, an Index: line, timestamps after the names
    writeFileSync(
      join(dir, '0001-relax.patch'),
      'From: A <a@example.invalid>\nSubject: [PATCH 1/2] mm/memremap: relax memunmap_pages\n\nWhy.\n\nIndex: linux-6.1/mm/memremap.c\n===================================================================\n--- linux-6.1.orig/mm/memremap.c\t2024-01-01 00:00:00.000000000 +0000\n+++ linux-6.1/mm/memremap.c\t2024-01-02 00:00:00.000000000 +0000\n@@ -21 +21 @@\n-EXPORT_SYMBOL_GPL(memunmap_pages);\n+EXPORT_SYMBOL(memunmap_pages);\n',
    );
    writeFileSync(
      join(dir, '0002-drop.patch'),
      'From: A <a@example.invalid>\nSubject: [PATCH 2/2] mm/memremap: stop exporting put_devmap_managed_page()\n\n--- a/mm/memremap.c\n+++ b/mm/memremap.c\n@@ -27 +26,0 @@\n-EXPORT_SYMBOL(put_devmap_managed_page);\n',
    );
    const r = runCli(['review', dir, '--tree', tree, '--format', 'json']);
    assert.equal(r.stderr, '');
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(
      review.patches.map((p) => `${p.index}/${p.total} ${p.subject}`),
      ['1/2 mm/memremap: relax memunmap_pages', '2/2 mm/memremap: stop exporting put_devmap_managed_page()'],
    );
    assert.deepEqual(rows(review), ['warning LICENSE_RELAXED 1 memunmap_pages mm/memremap.c:21', 'error REMOVED_EXPORT_STILL_USED 2 put_devmap_managed_page mm/memremap.c:27']);
    assert.equal(r.code, 1);
  });
});

describe('kexports review of input with no patch', () => {
  it('exits 2 after saying why, never reporting an empty review as clean', () => {
    const file = join(tempDir(), 'words.mbox');
    writeFileSync(file, 'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nSubject: [PATCH 1/2] words\n\nno diff here\n');
    const r = runCli(['review', file, '--tree', copySampleTree(), '--no-cache']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `kexports: ${file}:2: "[PATCH 1/2] words" has no diff; skipped\nkexports: ${file}: no patch to review (1 problem above)\n`);
  });
});

describe('kexports review of a series numbered amiss', () => {
  it('says which mail has no number, which number comes twice and which are missing, and the reply quotes each subject as written', () => {
    const tree = copySampleTree();
    const doc = (n: number): string => `diff --git a/Documentation/n${n}.txt b/Documentation/n${n}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/Documentation/n${n}.txt\n@@ -0,0 +1 @@\n+${n}\n`;
    const relax = 'diff --git a/mm/memremap.c b/mm/memremap.c\n--- a/mm/memremap.c\n+++ b/mm/memremap.c\n@@ -21 +21 @@\n-EXPORT_SYMBOL_GPL(memunmap_pages);\n+EXPORT_SYMBOL(memunmap_pages);\n';
    const mail = (subject: string, diff: string): string =>
      `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.invalid>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nSubject: ${subject}\n\n---\n${diff}-- \n2.39.5\n\n`;
    const file = join(tempDir(), 'amiss.mbox');
    const text = [
      mail('[PATCH] mm: a fix sent alone', doc(0)),
      mail('[PATCH 01/05] mm: one', doc(1)),
      mail('[PATCH 03/05] mm/memremap: relax', relax),
      mail('[PATCH 3/5] mm: three again', doc(3)),
    ].join('');
    writeFileSync(file, text);
    // each mail is named by its first header's line, the one after its From separator
    const at = text.split('\n').flatMap((l, k) => (l.startsWith('From 1111') ? [k + 2] : []));
    const r = runCli(['review', file, '--tree', tree, '--format', 'json']);
    const review = JSON.parse(r.stdout) as ReviewJson;
    assert.deepEqual(
      (review.patches as unknown as { index: number; label: string; subject: string }[]).map((p) => `${p.index} ${p.label} ${p.subject}`),
      ['1 #1 mm: a fix sent alone', '2 1/5 mm: one', '3 3/5 mm/memremap: relax', '4 3/5 mm: three again'],
    );
    assert.equal(
      r.stderr,
      [
        `kexports: ${file}:${at[0]}: "[PATCH] mm: a fix sent alone" (${file}:${at[0]}) has no patch number, in a series numbered to 5; it is reviewed as patch #1, in the order read`,
        `kexports: ${file}:${at[3]}: two mails are patch 3/5: "[PATCH 03/05] mm/memremap: relax" (${file}:${at[2]}) and "[PATCH 3/5] mm: three again" (${file}:${at[3]})`,
        `kexports: ${file}:1: the series has 2 of its 5 patches: 2, 4-5 are not in the input`,
        '',
      ].join('\n'),
    );
    // each finding goes to its own mail, and the reply quotes that mail's subject as it wrote it
    assert.deepEqual(rows(review), ['warning LICENSE_RELAXED 3 memunmap_pages mm/memremap.c:21']);
    const reply = runCli(['review', file, '--tree', tree, '--format', 'reply']).stdout;
    assert.match(reply, /^> \[PATCH 03\/05\] mm\/memremap: relax$/m);
    assert.equal(reply.match(/^On /gm)?.length, 1);
  });
});

describe('kexports review of mail with UTF-8 in the context', () => {
  it('matches "Rafał Miłecki" byte for byte, in 8bit and base64 mail, and quotes it as written', () => {
    const tree = copySampleTree();
    const path = join(tree, 'mm/memremap.c');
    const text = readFileSync(path, 'utf8').replace('EXPORT_SYMBOL_GPL(memunmap_pages);', '/* Copyright (C) 2023 Rafał Miłecki <rafal@milecki.pl> */\nEXPORT_SYMBOL_GPL(memunmap_pages);');
    writeFileSync(path, text, 'utf8');
    const line = text.split('\n').findIndex((l) => l.includes('Rafał')) + 1;
    const diff = `diff --git a/mm/memremap.c b/mm/memremap.c\n--- a/mm/memremap.c\n+++ b/mm/memremap.c\n@@ -${line},2 +${line},2 @@\n /* Copyright (C) 2023 Rafał Miłecki <rafal@milecki.pl> */\n-EXPORT_SYMBOL_GPL(memunmap_pages);\n+EXPORT_SYMBOL(memunmap_pages);\n`;
    const body = `Relax it.\n\nSigned-off-by: Rafał Miłecki <rafal@milecki.pl>\n---\n${diff}-- \n2.39.5\n`;
    const head = (enc: string): string =>
      `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\nFrom: =?UTF-8?q?Rafa=C5=82=20Mi=C5=82ecki?= <rafal@milecki.pl>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nSubject: [PATCH] mm: relax memunmap_pages\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: ${enc}\n\n`;
    for (const [enc, mail] of [
      ['8bit', head('8bit') + body],
      ['base64', head('base64') + `${Buffer.from(body).toString('base64').replace(/.{76}/g, '$&\n')}\n`],
    ] as const) {
      const file = join(tempDir(), `${enc}.patch`);
      writeFileSync(file, mail, 'utf8');
      const r = runCli(['review', file, '--tree', tree, '--format', 'json']);
      assert.equal(r.stderr, '', enc);
      assert.deepEqual(rows(JSON.parse(r.stdout) as ReviewJson), [`warning LICENSE_RELAXED 1 memunmap_pages mm/memremap.c:${line + 1}`], enc);
      const reply = runCli(['review', file, '--tree', tree, '--format', 'reply']).stdout;
      assert.match(reply, /^On 2026-01-01T00:00:00\.000Z, Rafał Miłecki <rafal@milecki\.pl> wrote:$/m, enc);
      assert.match(reply, /^> {2}\/\* Copyright \(C\) 2023 Rafał Miłecki <rafal@milecki\.pl> \*\/$/m, enc);
    }
  });
});

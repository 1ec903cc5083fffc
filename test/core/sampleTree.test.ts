import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkExports, defaultGplOnlyPaths } from '../../src/core/findings/findings';
import { buildIndex, type KernelIndex } from '../../src/core/index/index';
import { sampleTree, workerPath } from '../helpers';

let index: KernelIndex;
const opts = { gplOnlyPaths: defaultGplOnlyPaths, severity: {}, testsCountAsConsumers: true };

function consumersOf(name: string): string[] {
  const [exp] = index.exportsNamed(name);
  assert.ok(exp, `${name} is exported`);
  return index
    .consumers(exp)
    .map((c) => `${c.cls} ${c.file}:${c.line}${c.via ? ` via ${c.via.name} ${c.via.file}` : ''}`)
    .sort();
}

describe('the sample tree', () => {
  before(async () => {
    index = await buildIndex(sampleTree);
  });

  it('finds every export with its macro, license and namespace', () => {
    const rows = index.exports.map((e) => `${e.file}:${e.line} ${e.name} ${e.type} ${e.namespace ?? '-'}${e.wrapper ? ` (${e.wrapper})` : ''}${e.generated ? ' (generated)' : ''}`);
    assert.deepEqual(rows.sort(), [
      'arch/x86/kernel/cpu/common.c:7 current_task EXPORT_SYMBOL -',
      'arch/x86/lib/memcpy_64.S:14 __memcpy EXPORT_SYMBOL -',
      'drivers/acpi/acpica/utxface_sample.c:10 acpi_install_table_handler EXPORT_SYMBOL - (ACPI_EXPORT_SYMBOL)',
      'drivers/cxl/core/port.c:13 devm_cxl_add_port_sample EXPORT_SYMBOL_GPL CXL',
      'drivers/cxl/core/region.c:9 cxl_add_region_sample EXPORT_SYMBOL_GPL CXL',
      'drivers/dma-buf/dma-buf.c:10 dma_buf_export_sample EXPORT_SYMBOL_GPL DMA_BUF',
      'drivers/usb/storage/usb.c:9 usb_stor_probe_sample EXPORT_SYMBOL_GPL USB_STORAGE',
      'mm/hmm.c:39 hmm_range_fault EXPORT_SYMBOL -',
      'mm/hmm.c:45 hmm_dma_test_helper EXPORT_SYMBOL_GPL -',
      'mm/hmm.c:51 hmm_range_snapshot_unused EXPORT_SYMBOL_GPL -',
      'mm/hmm.c:57 hmm_pfn_order_check EXPORT_SYMBOL EXPORTED_FOR_KUNIT_TESTING',
      'mm/hmm.c:59 hmm_fault_done EXPORT_SYMBOL_GPL -',
      'mm/hmm_tables/mkorder.c:20 hmm_order_table EXPORT_SYMBOL - (generated)',
      'mm/memremap.c:15 memremap_pages EXPORT_SYMBOL_GPL -',
      'mm/memremap.c:21 memunmap_pages EXPORT_SYMBOL_GPL -',
      'mm/memremap.c:27 put_devmap_managed_page EXPORT_SYMBOL -',
      'mm/memremap.c:8 devmap_managed_key EXPORT_SYMBOL -',
      'mm/migrate_device.c:15 migrate_vma_setup EXPORT_SYMBOL -',
      'mm/migrate_device.c:21 migrate_vma_unmap EXPORT_SYMBOL_GPL -',
      'mm/migrate_device.c:28 migrate_vma_finalize EXPORT_SYMBOL_GPL -',
      'mm/migrate_device.c:29 migrate_vma_finalize EXPORT_SYMBOL_GPL -',
      'mm/page_walk.c:10 walk_page_range_sample EXPORT_SYMBOL_GPL -',
    ]);
  });

  it('gives tracepoints their linker symbols', () => {
    assert.deepEqual(index.exportsNamed('hmm_fault_done')[0]!.symbols, ['__tracepoint_hmm_fault_done', '__traceiter_hmm_fault_done', '__SCK__tp_func_hmm_fault_done', '__SCT__tp_func_hmm_fault_done']);
  });

  it('lists consumers by class, skipping comments, strings, members and prototypes', () => {
    assert.deepEqual(consumersOf('hmm_range_fault'), ['driver drivers/gpu/drm/vgpu/vgpu_svm.c:21', 'driver drivers/infiniband/core/odp_umem.c:13', 'test lib/test_hmm.c:12']);
  });

  it('finds consumers through header inline functions, transitively', () => {
    assert.deepEqual(consumersOf('devmap_managed_key'), ['driver drivers/gpu/drm/vgpu/vgpu_svm.c:22 via put_page include/linux/mm.h']);
    assert.deepEqual(consumersOf('current_task'), ['driver drivers/gpu/drm/vgpu/vgpu_svm.c:20 via current arch/x86/include/asm/current.h']);
  });

  it('finds the users of an export that a host program prints into a generated file', () => {
    assert.deepEqual(consumersOf('hmm_order_table'), ['driver drivers/gpu/drm/vgpu/vgpu_svm.c:43']);
  });

  it('finds tracepoint consumers through their generated names', () => {
    assert.deepEqual(consumersOf('hmm_fault_done'), ['driver drivers/infiniband/core/odp_umem.c:12']);
  });

  it('classes same-directory, test and tools users', () => {
    assert.deepEqual(consumersOf('walk_page_range_sample'), ['same-dir mm/madvise_sample.c:9']);
    assert.deepEqual(consumersOf('hmm_pfn_order_check'), ['test mm/tests/hmm_kunit.c:11']);
    assert.deepEqual(consumersOf('hmm_range_snapshot_unused'), ['tools tools/mm/hmm_stat.c:7']);
    assert.deepEqual(consumersOf('__memcpy'), ['driver drivers/gpu/drm/vgpu/vgpu_svm.c:31']);
    assert.deepEqual(consumersOf('devm_cxl_add_port_sample'), ['driver drivers/cxl/pci.c:10']);
    assert.deepEqual(consumersOf('dma_buf_export_sample'), ['driver drivers/gpu/drm/vgpu/vgpu_svm.c:32']);
  });

  it('reports the exact findings', () => {
    const rows = checkExports(index, [], opts).map((f) => `${f.severity} ${f.code} ${f.symbol} ${f.file}:${f.line}`);
    assert.deepEqual(rows, [
      'info SAME_DIR_CONSUMERS usb_stor_probe_sample drivers/usb/storage/usb.c:9',
      'warning NOT_GPL_ONLY hmm_range_fault mm/hmm.c:39',
      'warning TEST_ONLY_CONSUMERS hmm_dma_test_helper mm/hmm.c:45',
      'warning NO_CONSUMER hmm_range_snapshot_unused mm/hmm.c:51',
      'warning TEST_ONLY_CONSUMERS hmm_pfn_order_check mm/hmm.c:57',
      'warning NOT_GPL_ONLY devmap_managed_key mm/memremap.c:8',
      'warning NO_CONSUMER memunmap_pages mm/memremap.c:21',
      'warning NOT_GPL_ONLY put_devmap_managed_page mm/memremap.c:27',
      'warning NOT_GPL_ONLY migrate_vma_setup mm/migrate_device.c:15',
      'warning NO_CONSUMER migrate_vma_unmap mm/migrate_device.c:21',
      'error STATIC_EXPORT migrate_vma_unmap mm/migrate_device.c:21',
      'warning EXPORT_SYMBOL_PLACEMENT migrate_vma_finalize mm/migrate_device.c:28',
      'warning NO_CONSUMER migrate_vma_finalize mm/migrate_device.c:28',
      'error DUPLICATE_EXPORT migrate_vma_finalize mm/migrate_device.c:29',
      'warning EXPORT_SYMBOL_PLACEMENT migrate_vma_finalize mm/migrate_device.c:29',
      'warning NO_CONSUMER migrate_vma_finalize mm/migrate_device.c:29',
      'info SAME_DIR_CONSUMERS walk_page_range_sample mm/page_walk.c:10',
    ]);
  });

  it('words findings as checkpatch and modpost do', () => {
    const byCode = new Map(checkExports(index, [], opts).map((f) => [`${f.code} ${f.line}`, f.message]));
    assert.equal(byCode.get('NOT_GPL_ONLY 39'), 'hmm_range_fault is exported with EXPORT_SYMBOL (any license); the GPL-only policy for mm/hmm.c wants EXPORT_SYMBOL_GPL');
    assert.equal(byCode.get('EXPORT_SYMBOL_PLACEMENT 28'), 'EXPORT_SYMBOL(foo); should immediately follow its function/variable (migrate_vma_finalize ends at line 26)');
    assert.equal(byCode.get('DUPLICATE_EXPORT 29'), "'migrate_vma_finalize' exported twice. Previous export was in mm/migrate_device.c:28");
    assert.equal(byCode.get('NO_CONSUMER 51'), 'hmm_range_snapshot_unused is exported but has no in-tree consumer (only userspace tools/ use the name)');
  });

  it('applies settings: severities off, another policy, tests not counting', () => {
    const rows = checkExports(index, ['mm/hmm.c'], {
      gplOnlyPaths: ['drivers/**'],
      severity: { TEST_ONLY_CONSUMERS: 'off', NO_CONSUMER: 'error' },
      testsCountAsConsumers: false,
    }).map((f) => `${f.severity} ${f.code} ${f.symbol}`);
    assert.deepEqual(rows, ['error NO_CONSUMER hmm_dma_test_helper', 'error NO_CONSUMER hmm_range_snapshot_unused', 'error NO_CONSUMER hmm_pfn_order_check']);
  });

  for (const native of [true, false]) {
    it(`gives the same index through ${native ? "the native scanner's threads" : 'JS worker threads'}`, async () => {
      const viaThreads = await buildIndex(sampleTree, { workers: 1, workerScript: workerPath, native });
      const key = (i: KernelIndex): string[] =>
        i.exports
          .map(
            (e) =>
              `${e.file}:${e.line} ${e.name} ${i
                .consumers(e)
                .map((c) => c.file)
                .join(',')}`,
          )
          .sort();
      assert.deepEqual(key(viaThreads), key(index));
      // small chunks, and scanners that start a new name table every few names
      const resetting = await buildIndex(sampleTree, { workers: 1, workerScript: workerPath, chunkFiles: 2, workerNameLimit: 8, native });
      assert.deepEqual(key(resetting), key(index));
    });
  }
});

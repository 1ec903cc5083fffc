/**
 * Consumer classes, from the consumer's path relative to the exporting file.
 */
import { posix } from 'node:path';

export type ConsumerClass = 'driver' | 'subsystem' | 'same-dir' | 'arch' | 'test' | 'tools';

export const classOrder: readonly ConsumerClass[] = ['driver', 'subsystem', 'arch', 'same-dir', 'test', 'tools'];

/** Tests: lib/test_*.c, kunit directories, *_test.c and *_kunit.c, tests/ directories, tools/testing, samples. */
export function isTestPath(path: string): boolean {
  if (path.startsWith('tools/testing/') || path.startsWith('samples/')) return true;
  if (path.includes('/kunit/') || path.startsWith('kunit/') || path.includes('/tests/')) return true;
  const base = posix.basename(path);
  if (path.startsWith('lib/') && /^test[_-]/.test(base)) return true;
  return /(_test|_kunit|-test|-kunit)\.[ch]$/.test(base);
}

/** Userspace: tools/ (but tools/testing is classed as test) and scripts/. Never a kernel consumer. */
export function isToolsPath(path: string): boolean {
  return (path.startsWith('tools/') && !path.startsWith('tools/testing/')) || path.startsWith('scripts/');
}

export function classify(consumer: string, exporter: string): ConsumerClass {
  if (isToolsPath(consumer)) return 'tools';
  if (isTestPath(consumer)) return 'test';
  if (posix.dirname(consumer) === posix.dirname(exporter)) return 'same-dir';
  const arch = /^arch\/([^/]+)\//.exec(consumer);
  if (arch && !exporter.startsWith(`arch/${arch[1]}/`)) return 'arch';
  if (/^(drivers|sound)\//.test(consumer)) return 'driver';
  return 'subsystem';
}

export function archOf(path: string): string | undefined {
  return /^arch\/([^/]+)\//.exec(path)?.[1];
}

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

/** The class a path has whatever it consumes: tools, test, driver, or other kernel code. */
export type BaseClass = 'tools' | 'test' | 'driver' | 'subsystem';

export function baseClass(path: string): BaseClass {
  if (isToolsPath(path)) return 'tools';
  if (isTestPath(path)) return 'test';
  return /^(drivers|sound)\//.test(path) ? 'driver' : 'subsystem';
}

/** The class of a consumer of an export in `exporter`; `base` is baseClass(consumer), if known. */
export function classify(consumer: string, exporter: string, base = baseClass(consumer)): ConsumerClass {
  const arch = archOf(consumer);
  return classFrom(base, posix.dirname(consumer) === posix.dirname(exporter), arch !== undefined && arch !== archOf(exporter));
}

/**
 * classify() from what it looks at: the consumer's base class, whether it sits in the exporter's
 * directory, and whether it is under another architecture's arch/ than the exporter.
 */
export function classFrom(base: BaseClass, sameDir: boolean, otherArch: boolean): ConsumerClass {
  if (base === 'tools' || base === 'test') return base;
  if (sameDir) return 'same-dir';
  if (otherArch) return 'arch';
  return base;
}

export function archOf(path: string): string | undefined {
  return /^arch\/([^/]+)\//.exec(path)?.[1];
}

/** Whether a consumer of this class counts as a kernel consumer: never userspace tools; tests by setting. */
export function countsAsConsumer(cls: ConsumerClass, testsCount: boolean): boolean {
  return cls !== 'tools' && (testsCount || cls !== 'test');
}

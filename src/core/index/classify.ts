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
  return classOfPlace({ base, dir: posix.dirname(consumer), arch: archOf(consumer) }, posix.dirname(exporter), archOf(exporter));
}

/** What classify() needs of a consumer's path, worked out once for a file that consumes many exports. */
export interface Place {
  base: BaseClass;
  dir: string;
  arch: string | undefined;
}

export function placeOf(path: string): Place {
  return { base: baseClass(path), dir: posix.dirname(path), arch: archOf(path) };
}

/** classify() of a consumer's place, the exporter's directory and architecture given. */
export function classOfPlace(c: Place, exporterDir: string, exporterArch: string | undefined): ConsumerClass {
  if (c.base === 'tools' || c.base === 'test') return c.base;
  if (c.dir === exporterDir) return 'same-dir';
  if (c.arch !== undefined && c.arch !== exporterArch) return 'arch';
  return c.base;
}

export function archOf(path: string): string | undefined {
  return /^arch\/([^/]+)\//.exec(path)?.[1];
}

/** Whether a consumer of this class counts as a kernel consumer: never userspace tools; tests by setting. */
export function countsAsConsumer(cls: ConsumerClass, testsCount: boolean): boolean {
  return cls !== 'tools' && (testsCount || cls !== 'test');
}

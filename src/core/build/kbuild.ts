/**
 * DEFAULT_SYMBOL_NAMESPACE set by a Makefile or Kbuild file:
 *   ccflags-y += -DDEFAULT_SYMBOL_NAMESPACE=USB_STORAGE        (this directory)
 *   ccflags-y += -DDEFAULT_SYMBOL_NAMESPACE='"USB_STORAGE"'    (6.13 on: a string)
 *   subdir-ccflags-y += ...                                     (this directory and below)
 *   CFLAGS_foo.o += -DDEFAULT_SYMBOL_NAMESPACE=FOO               (one object)
 */
import { dirname, join } from 'node:path';
import type { Stats } from 'node:fs';
import { readRegularFile, readTreeFile, readWhole, reusedBuffer } from '../util/regularFile';

export interface KbuildNamespaces {
  dir: Map<string, string>;
  subdir: Map<string, string>;
  object: Map<string, string>;
}

const FLAG = /-DDEFAULT_SYMBOL_NAMESPACE=(\S+)/;

/** A Makefile or Kbuild file, by its path: what Kbuild reads in a directory. */
export const MAKEFILE = /(^|\/)(Makefile|Kbuild)$/;
/** A Kconfig file (Kconfig, Kconfig.debug, …). */
export const KCONFIG = /(^|\/)Kconfig[^/]*$/;
/** Makefiles, Kbuild and Kconfig files: what the build model is read from. */
export const BUILD_FILE = /(^|\/)(Makefile|Kbuild|Kconfig[^/]*)$/;

/** The directory of a tree path, '' at the top (where dirname says '.'). */
export function treeDir(path: string): string {
  const d = dirname(path);
  return d === '.' ? '' : d;
}

export function emptyKbuild(): KbuildNamespaces {
  return { dir: new Map(), subdir: new Map(), object: new Map() };
}

/** No Makefile comes near this; a larger one is no Makefile to read. */
const MAX_MAKEFILE_BYTES = 16 * 1024 * 1024;

/** A Makefile's, Kbuild or Kconfig file's text, or undefined when it cannot be read (gone). */
export function readMakefile(root: string, path: string): string | undefined {
  try {
    return readRegularFile(join(root, path), { maxBytes: MAX_MAKEFILE_BYTES }).toString('latin1');
  } catch {
    return undefined;
  }
}

/** The same as bytes, with the file's stat, for a cache that holds while the file is unchanged; undefined when it cannot be read. */
export function readBuildFileStat(root: string, path: string): { data: Buffer; st: Stats } | undefined {
  try {
    return readTreeFile(join(root, path), MAX_MAKEFILE_BYTES);
  } catch {
    return undefined;
  }
}

const NAMESPACE_FLAG = Buffer.from('DEFAULT_SYMBOL_NAMESPACE');

/**
 * The namespaces a tree's Makefiles set, the files read one by one into one buffer, and made text
 * only where the flag is (2 of linux-6.1's 2,918). (fs.promises' readFile of them all at once took
 * ten times as long, and CPU that a full build's scan threads, running meanwhile, wanted.)
 */
export function readKbuildNamespaces(root: string, makefiles: readonly string[]): KbuildNamespaces {
  const out = emptyKbuild();
  const room = reusedBuffer();
  for (const mk of makefiles) {
    let data: Buffer | undefined;
    try {
      data = readWhole(join(root, mk), MAX_MAKEFILE_BYTES, room).data;
    } catch {
      continue;
    }
    if (data?.includes(NAMESPACE_FLAG)) parseMakefile(data.toString('latin1'), treeDir(mk), out);
  }
  return out;
}

export function parseMakefile(text: string, dir: string, out: KbuildNamespaces): void {
  for (const raw of text.split('\n')) {
    const flag = FLAG.exec(raw);
    if (!flag) continue;
    const value = cleanValue(flag[1]!);
    const line = raw.trimStart();
    const obj = /^CFLAGS_([\w.-]+)\.o\b/.exec(line);
    if (obj) out.object.set(join(dir, obj[1]!).replace(/^\.\//, ''), value);
    else if (/^subdir-ccflags/.test(line)) out.subdir.set(dir, value);
    else if (/^(ccflags|EXTRA_CFLAGS|KBUILD_CFLAGS)/.test(line)) out.dir.set(dir, value);
  }
}

function cleanValue(v: string): string {
  return v.replace(/\\"/g, '').replace(/^'|'$/g, '').replace(/^"|"$/g, '');
}

/** The namespace Kbuild gives to exports in `path` (a .c or .S file), if any. */
export function kbuildNamespaceFor(ns: KbuildNamespaces, path: string): string | undefined {
  const base = path.replace(/\.[cS]$/, '');
  const byObject = ns.object.get(base);
  if (byObject) return byObject;
  let dir = treeDir(path);
  const byDir = ns.dir.get(dir);
  if (byDir) return byDir;
  for (;;) {
    const v = ns.subdir.get(dir);
    if (v) return v;
    if (dir === '') return undefined;
    dir = treeDir(dir);
  }
}

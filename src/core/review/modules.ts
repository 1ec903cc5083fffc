/**
 * What modpost checks when it links a module, as review asks it: which modules a file goes into,
 * what a module imports, and where a called name is really defined.
 *
 * With the build model (a tree with Kbuild and Kconfig) the answers are the build's: a file's
 * modules are the .ko files its Makefile links it into under some config, and a module imports a
 * namespace when any of its files has MODULE_IMPORT_NS, as modpost counts it. Without one (a folder
 * of C), a file under drivers/, fs/, net/ and the like stands for a module of its own.
 */
import type { BuildAnswers } from '../build/answers';
import type { KernelIndex } from '../index/index';

/** Top-level folders whose code can be a module, for a folder with no build model. */
const MODULAR = /^(drivers|sound|fs|net|crypto|lib|security|virt|samples)\//;
/** Code that is never linked into the kernel: userspace tools, host programs, documentation. */
export const NOT_KERNEL = /^(tools|scripts|usr|Documentation|samples\/bpf)\//;

export interface ModuleView {
  /** The .ko modules a file can be linked into, named as modpost names them ([]: built in only, a header, or not built). */
  modulesOf(file: string): string[];
  /** The namespaces a module imports: MODULE_IMPORT_NS in any of its files. `file` is one of them. */
  imports(module: string, file: string): Set<string>;
  /** Whether a file's object is linked into `module` itself, so a call from the module to it needs no export. */
  linkedInto(file: string, module: string): boolean;
  /** Whether a file is built into the kernel or a module at all. */
  built(file: string): boolean;
  /** What the file's code is part of, for a message: "vmlinux", "drivers/foo/bar.ko". */
  where(file: string): string;
}

export function moduleView(index: KernelIndex, build: BuildAnswers | undefined): ModuleView {
  const own = (file: string): string[] => {
    const k = index.byPath.get(file);
    return k === undefined ? [] : index.files[k]!.imports.map((i) => i.ns);
  };
  if (!build) {
    const asModule = (file: string): string => file.replace(/\.[cS]$/, '');
    return {
      modulesOf: (file) => (MODULAR.test(file) && /\.[cS]$/.test(file) ? [asModule(file)] : []),
      imports: (_module, file) => new Set(own(file)),
      // a file is its own module: a neighbour in the same folder may be another one
      linkedInto: (file, module) => asModule(file) === module,
      built: (file) => !NOT_KERNEL.test(file),
      where: (file) => (MODULAR.test(file) ? `${asModule(file)}.ko` : 'vmlinux'),
    };
  }
  const memo = new Map<string, Set<string>>();
  return {
    modulesOf: (file) => build.modules(file).filter((m) => m !== 'vmlinux'),
    imports: (module, file) => {
      let set = memo.get(module);
      if (!set) {
        set = new Set(build.sourcesOf(module).flatMap(own));
        memo.set(module, set);
      }
      return new Set([...set, ...own(file)]);
    },
    linkedInto: (file, module) => build.modules(file).includes(module),
    built: (file) => build.built(file),
    where: (file) => {
      const mods = build.modules(file);
      return mods.map((m) => (m === 'vmlinux' ? m : `${m}.ko`)).join(', ') || 'no module';
    },
  };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether the index's definition of `name` at `line` of `text` is one the linker sees: a function
 * or variable defined at file scope in C, or a global symbol in assembly. Not a name passed to a
 * macro (DEFINE_TEST_ALLOC(kzalloc, ...)), a struct's tag (struct dev_info {), or a local label.
 */
export function isLinkerDefinition(file: string, text: string, name: string, line: number): boolean {
  const n = escape(name);
  if (file.endsWith('.S')) {
    return new RegExp(`(^|\\n)\\s*(\\.globl|\\.global)\\s+${n}\\b|\\b(SYM_[A-Z_]*START[A-Z_]*|SYM_[A-Z_]*ALIAS|SYM_DATA|ENTRY|GLOBAL|_GLOBAL|FUNC_START|ENTRY_CFI)\\(\\s*${n}\\s*[,)]`).test(text);
  }
  if (!/\.c$/.test(file)) return false;
  const lines = text.split('\n');
  const at = lines[line - 1];
  if (at === undefined) return false;
  const m = new RegExp(`(^|[^\\w])${n}\\s*(\\(|=|;|\\[|,|$)`).exec(at);
  if (!m) return false;
  const before = at.slice(0, m.index + m[1]!.length);
  // inside a macro's arguments, a struct/union/enum tag, a preprocessor line
  if (/[(,]/.test(before) || /\b(struct|union|enum)\s*$/.test(before) || /^\s*#/.test(at)) return false;
  if (/\bstatic\b/.test(before)) return false;
  return true;
}

/**
 * Findings on exports: the linux-mm rules (GPL-only policy, consumers), checkpatch's placement rule,
 * and modpost's duplicate rule. Codes are stable and documented in the README.
 */
import picomatch from 'picomatch';
import type { Cancellation } from '../cancel';
import { gplVariant, isGplOnly, licenseWords } from '../exportMacros';
import type { Consumer, Export, KernelIndex } from '../index/index';
import type { BuildAnswers } from '../build/answers';
import { moduleFindings } from '../build/findings';

export { findingCodes, type FindingCode } from './findingCodes';
import { consumerCodes, type FindingCode } from './findingCodes';

/**
 * Names the compiler calls on its own (libgcc's division and shifts, ARM's EABI helpers, tracing
 * and sanitizer hooks, memcpy and friends): modules use them through code no source shows, so no
 * consumer finding, by module or by path, can be true of them.
 */
const COMPILER_EMITTED =
  /^(?:__(?:u?(?:div|mod|mul|rem)|ashl|ashr|lshr|cmp|ucmp|neg|ffs|clz|ctz|popcount|parity|bswap)[a-z]*\d|__aeabi_\w+|__gnu_mcount_nc|_?mcount|__fentry__|__stack_chk_(?:fail|guard)|__x86_(?:indirect_thunk|return_thunk)\w*|__(?:asan|ubsan|tsan|kcsan|msan|sanitizer|gcov|llvm)_\w+|_(?:save|rest)(?:gpr|fpr|vr)\w*|\$\$\w+|(?:__)?mem(?:cpy|set|move|cmp)|bcmp|__(?:udiv|div|mod|umod)\w*)$/;

function compilerEmitted(name: string): boolean {
  return COMPILER_EMITTED.test(name);
}

export type Severity = 'error' | 'warning' | 'info' | 'hint' | 'off';
export const severityRank: Record<Severity, number> = { error: 3, warning: 2, info: 1, hint: 0, off: -1 };

export const defaultSeverity: Record<FindingCode, Severity> = {
  NOT_GPL_ONLY: 'warning',
  NO_CONSUMER: 'warning',
  TEST_ONLY_CONSUMERS: 'warning',
  SAME_DIR_CONSUMERS: 'info',
  SAME_MODULE_CONSUMERS: 'info',
  BUILTIN_ONLY_CONSUMERS: 'warning',
  FOR_MODULES_REFUSED: 'error',
  FOR_MODULES_CANDIDATE: 'info',
  EXPORT_SYMBOL_PLACEMENT: 'warning',
  STATIC_EXPORT: 'error',
  DUPLICATE_EXPORT: 'error',
  DEFAULT_NAMESPACE_IGNORED: 'warning',
  UNRESOLVED_EXPORT: 'info',
  LATE_CONSUMER: 'warning',
  NEVER_CONSUMED: 'warning',
};

/** The HMM files the 2019 linux-mm review asked to keep GPL-only. */
export const defaultGplOnlyPaths = ['mm/hmm.c', 'include/linux/hmm.h', 'mm/migrate_device.c', 'mm/memremap.c'];

export interface CheckOptions {
  /** The tree's build model: consumers judged by the modules they are linked into. */
  build?: BuildAnswers;
  gplOnlyPaths: readonly string[];
  severity: Partial<Record<FindingCode, Severity>>;
  testsCountAsConsumers: boolean;
  token?: Cancellation;
}

export interface Finding {
  code: FindingCode;
  severity: Exclude<Severity, 'off'>;
  symbol: string;
  message: string;
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export function policyMatcher(globs: readonly string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  return picomatch(globs as string[], { dot: true });
}

const REAL: ReadonlySet<string> = new Set(['driver', 'subsystem', 'arch']);

export interface ConsumerVerdict {
  /** Consumers seen; complete unless `real` stopped the search. */
  consumers: Consumer[];
  real: boolean;
}

/** Searches consumers until one outside tests, the own directory and tools/ turns up. */
export function consumerVerdict(index: KernelIndex, exp: Export): ConsumerVerdict {
  let real = false;
  const consumers = index.consumers(exp, (c) => (REAL.has(c.cls) ? (real = true) : false));
  return { consumers, real };
}

/** Findings for the exports, and the export calls that could not be resolved, under the paths (all when none). */
export function checkExports(index: KernelIndex, paths: readonly string[], opts: CheckOptions): Finding[] {
  const exports = index.exportsUnder(paths);
  const sev = { ...defaultSeverity, ...opts.severity };
  const inPolicy = policyMatcher(opts.gplOnlyPaths);
  const out: Finding[] = [];
  const add = (code: FindingCode, exp: Export, message: string): void => {
    const s = sev[code];
    if (s === 'off') return;
    out.push({ code, severity: s, symbol: exp.name, message, file: exp.file, line: exp.line, col: exp.col, endLine: exp.endLine, endCol: exp.endCol });
  };
  const dupes = duplicateMap(index, opts.build);
  for (const exp of exports) {
    if (opts.token?.isCancellationRequested) break;
    if (exp.file.startsWith('tools/') || exp.file.startsWith('scripts/')) continue;
    // EXPORT_SYMBOL_IF_KUNIT has no GPL-only form and exists only in test builds.
    if (inPolicy(exp.file) && !isGplOnly(exp.type) && exp.flavour !== 'kunit') {
      const want = gplVariant(exp.macro) ?? 'EXPORT_SYMBOL_GPL';
      add('NOT_GPL_ONLY', exp, `${exp.name} is exported with ${exp.macro} (${licenseWords(exp.type)}); the GPL-only policy for ${exp.file} wants ${want}`);
    }
    const compiler = exp.symbols.some(compilerEmitted);
    // the consumer walk, by module or by path, only while one of its codes is on
    const byModule = !compiler && opts.build && consumerCodes.some((c) => sev[c] !== 'off') ? moduleFindings(index, opts.build, exp, opts.testsCountAsConsumers) : undefined;
    if (byModule) {
      for (const f of byModule) add(f.code, exp, f.message);
    } else if (!compiler && (sev.NO_CONSUMER !== 'off' || sev.TEST_ONLY_CONSUMERS !== 'off' || sev.SAME_DIR_CONSUMERS !== 'off')) {
      const v = consumerVerdict(index, exp);
      if (!v.real) {
        const tests = v.consumers.filter((c) => c.cls === 'test');
        const same = v.consumers.filter((c) => c.cls === 'same-dir');
        const tools = v.consumers.filter((c) => c.cls === 'tools');
        if (same.length === 0 && (tests.length === 0 || !opts.testsCountAsConsumers)) {
          const extra = tests.length
            ? ` (${tests.length === 1 ? '1 test uses' : `${tests.length} tests use`} it, and tests do not count here)`
            : tools.length
              ? ' (only userspace tools/ use the name)'
              : '';
          add('NO_CONSUMER', exp, `${exp.name} is exported but has no in-tree consumer${extra}`);
        } else if (same.length === 0) {
          add(
            'TEST_ONLY_CONSUMERS',
            exp,
            `${exp.name} is exported but only tests use it: ${tests
              .map((c) => c.file)
              .slice(0, 3)
              .join(', ')}${tests.length > 3 ? ', …' : ''}`,
          );
        } else {
          const dir = exp.file.includes('/') ? exp.file.slice(0, exp.file.lastIndexOf('/') + 1) : './';
          add(
            'SAME_DIR_CONSUMERS',
            exp,
            `${exp.name} is exported but its only consumers are in its own directory ${dir}: ${same
              .map((c) => c.file)
              .slice(0, 3)
              .join(', ')}${same.length > 3 ? ', …' : ''}`,
          );
        }
      }
    }
    const def = exp.definition;
    if (def && exp.file.endsWith('.c') && !exp.wrapper && def.kind !== 'asm-label' && def.endLine !== exp.line - 1) {
      add('EXPORT_SYMBOL_PLACEMENT', exp, `EXPORT_SYMBOL(foo); should immediately follow its function/variable (${exp.name} ends at line ${def.endLine})`);
    }
    if (def && def.isStatic) {
      add('STATIC_EXPORT', exp, `${exp.name} is static but exported with ${exp.macro}; a static symbol must not be exported`);
    }
    if (exp.ignoredNamespace) {
      add(
        'DEFAULT_NAMESPACE_IGNORED',
        exp,
        `${exp.name} gets ${exp.namespace ? `namespace ${exp.namespace}` : 'no namespace'}: DEFAULT_SYMBOL_NAMESPACE ${exp.ignoredNamespace.name} is defined at line ${exp.ignoredNamespace.line}, after an #include, and <linux/export.h> only sees it when defined before`,
      );
    }
    const prevExport = dupes.get(exp);
    if (prevExport) {
      add('DUPLICATE_EXPORT', exp, `'${exp.symbols[0]}' exported twice. Previous export was in ${prevExport.file}:${prevExport.line}`);
    }
  }
  for (const u of index.unresolvedUnder(paths)) {
    const s = sev.UNRESOLVED_EXPORT;
    if (s === 'off') continue;
    out.push({ code: 'UNRESOLVED_EXPORT', severity: s, symbol: '', message: `${u.macro}(): ${u.reason}`, file: u.file, line: u.line, col: 0, endLine: u.line, endCol: 0 });
  }
  out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)));
  return out;
}

/**
 * Check findings joined with export history's. NEVER_CONSUMED says what NO_CONSUMER says, with the
 * windows: the export gets only the former.
 */
export function withHistoryFindings(findings: readonly Finding[], history: readonly Finding[]): Finding[] {
  const never = new Set(history.filter((f) => f.code === 'NEVER_CONSUMED').map((f) => `${f.file}:${f.line}:${f.symbol}`));
  const out = [...findings.filter((f) => !(f.code === 'NO_CONSUMER' && never.has(`${f.file}:${f.line}:${f.symbol}`))), ...history];
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)));
}

/** Conditional paths "3.0/5.1" are exclusive when they take different branches of one #if. */
export function exclusive(a: string, b: string): boolean {
  if (!a || !b) return false;
  const branches = new Map(a.split('/').map((p) => p.split('.') as [string, string]));
  for (const p of b.split('/')) {
    const [id, br] = p.split('.');
    const other = branches.get(id!);
    if (other !== undefined && other !== br) return true;
  }
  return false;
}

/**
 * Exports that repeat an earlier export of the same linker symbol in a way both would be built:
 * in one file outside exclusive #if branches, or in two files that are neither arch alternatives nor
 * conditional. Maps each repeat to the export it repeats.
 */
export function duplicateMap(index: KernelIndex, build?: BuildAnswers): Map<Export, Export> {
  const out = new Map<Export, Export>();
  for (const list of index.exportsByName.values()) {
    if (list.length < 2) continue;
    const sorted = [...list].filter((e) => !e.file.startsWith('tools/') && !e.file.startsWith('scripts/')).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
    for (let j = 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      for (let k = 0; k < j; k++) {
        const a = sorted[k]!;
        if (a.symbols[0] !== b.symbols[0]) continue;
        if (a.file === b.file ? !exclusive(a.cond, b.cond) : bothBuilt(a, b, build)) {
          out.set(b, a);
          break;
        }
      }
    }
  }
  return out;
}

function bothBuilt(a: Export, b: Export, build?: BuildAnswers): boolean {
  const archA = /^arch\/([^/]+)\//.exec(a.file)?.[1];
  const archB = /^arch\/([^/]+)\//.exec(b.file)?.[1];
  if ((archA || archB) && archA !== archB) return false;
  // A generated file and the copy shipped beside its generator (fs/unicode's utf8data.c_shipped) are alternatives.
  if (a.generated || b.generated) return false;
  if (build) {
    // Both built by the Makefiles: only where Kconfig lets one config of one arch build both
    // (not mm/vmalloc.c and mm/nommu.c, MMU and !MMU; not slub and slob, a choice).
    const pa = build.of(a.file);
    const pb = build.of(b.file);
    // a file the Makefiles build by a rule of their own (alpha's divide.S for __divqu.o) cannot be judged
    if (pa.length === 0 || pb.length === 0) return false;
    return a.cond === '' && b.cond === '' && build.coexist(pa, pb);
  }
  return a.cond === '' && b.cond === '' && !a.file.endsWith('.h') && !b.file.endsWith('.h');
}

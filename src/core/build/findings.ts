/**
 * Findings that need the build model: an export's consumers judged by the modules they are linked
 * into, as modpost and the kernel's own unexport patches judge them.
 */
import type { FindingCode } from '../findings/findingCodes';
import type { Consumer, Export, KernelIndex } from '../index/index';
import type { BuildAnswers } from './answers';

export interface ModuleFinding {
  code: FindingCode;
  message: string;
}

/** At most this many modules get the suggestion to narrow an export to them. */
const NARROW_MAX = 3;

const baseName = (module: string): string => module.slice(module.lastIndexOf('/') + 1).replace(/-/g, '_');

/**
 * Whether EXPORT_SYMBOL_FOR_MODULES' list lets `module` use the export: names separated by commas, a
 * trailing `*` matching any tail, compared with the module's name as the loader knows it (the .ko's
 * base name, '-' and '_' alike).
 */
export function permits(list: readonly string[], module: string): boolean {
  const name = baseName(module);
  return list.some((p) => {
    const pat = p.replace(/-/g, '_');
    return pat.endsWith('*') ? name.startsWith(pat.slice(0, -1)) : name === pat;
  });
}

/**
 * The consumer findings for one export, or undefined when the model cannot judge it (the exporting
 * file is built by no Makefile the model reads): NO_CONSUMER and the rest then apply as without one.
 *
 * A consumer whose file no Makefile builds (a header, a file of no config) could be anything: it
 * decides nothing, so no finding says an export is unneeded while one exists.
 */
export function moduleFindings(index: KernelIndex, build: BuildAnswers, exp: Export, testsCount: boolean): ModuleFinding[] | undefined {
  const own = build.of(exp.file, exp.generated);
  if (own.length === 0) return undefined;
  const ownKos = new Set(own.filter((p) => p.modular).map((p) => p.module));
  const ownComposites = new Set(own.map((p) => p.composite).filter((c): c is string => c !== undefined));
  const permitted = exp.flavour === 'modules' ? (exp.modules ?? []) : undefined;
  let sameModule = 0;
  let builtinOnly = 0;
  let counted = 0;
  let open = false;
  const otherKos = new Set<string>();
  const refused: Consumer[] = [];
  // the search can stop once the answer cannot change: modules outside the exporter's, past the narrowing limit
  const settled = (): boolean => !permitted && otherKos.size > NARROW_MAX;
  index.consumers(exp, (c) => {
    if (c.cls === 'tools' || (c.cls === 'test' && !testsCount)) return false;
    counted++;
    const where = build.of(c.file);
    if (where.length === 0) {
      open = true;
      return settled();
    }
    // with the exporter: in its .ko, or built in as part of the same composite object (foo.o of a
    // tristate foo, built in when FOO=y)
    let withExporter = true;
    let elsewhere = false;
    for (const p of where) {
      if (p.modular) {
        if (ownKos.has(p.module)) continue;
        elsewhere = true;
        otherKos.add(p.module);
        if (permitted && !permits(permitted, p.module)) refused.push(c);
      } else if (!p.composite || !ownComposites.has(p.composite)) withExporter = false;
    }
    if (!elsewhere) {
      if (withExporter) sameModule++;
      else builtinOnly++;
    }
    return settled();
  });
  const out: ModuleFinding[] = [];
  if (refused.length) {
    const mods = [...new Set(refused.flatMap((c) => build.modules(c.file).filter((m) => m !== 'vmlinux')))];
    out.push({
      code: 'FOR_MODULES_REFUSED',
      message: `${exp.name} is exported only for "${permitted!.join(',')}", but ${mods.map((m) => `${m}.ko`).join(', ')} use${mods.length === 1 ? 's' : ''} it (${refused[0]!.file}:${refused[0]!.line}): modpost and the module loader refuse it`,
    });
  }
  if (otherKos.size || open) {
    if (!permitted && !open && otherKos.size <= NARROW_MAX) {
      const mods = [...otherKos].sort();
      out.push({
        code: 'FOR_MODULES_CANDIDATE',
        message: `${exp.name}'s modular users are only ${mods.map((m) => `${m}.ko`).join(', ')}: it could be EXPORT_SYMBOL_FOR_MODULES(${exp.name}, "${mods.map(baseName).join(',')}")`,
      });
    }
    return out;
  }
  if (counted === 0) return undefined; // no consumer at all: NO_CONSUMER and TEST_ONLY_CONSUMERS as without a model
  if (builtinOnly > 0) {
    out.push({
      code: 'BUILTIN_ONLY_CONSUMERS',
      message: `${exp.name} has no modular users: ${counted === 1 ? 'its only consumer is' : `all ${counted} consumers are`} built into vmlinux (${exp.file}: ${build.label(exp.file, exp.generated)}); the export can be dropped`,
    });
  } else if (sameModule > 0) {
    const mods = [...ownKos].sort();
    const into = mods.length ? `${mods.map((m) => `${m}.ko`).join(', ')}, the module that exports it` : `${[...ownComposites].sort().join(', ')}, the object that exports it`;
    out.push({ code: 'SAME_MODULE_CONSUMERS', message: `${exp.name} is exported but every consumer is linked into ${into}; the export is not needed` });
  }
  return out;
}

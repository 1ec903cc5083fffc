/**
 * The settings, declared once: package.json's contributes.configuration is the schema, this is the
 * typed reader. The CLI reads the same keys from its config file (.kexports.json) and flags.
 */
import { defaultGplOnlyPaths, defaultSeverity, type FindingCode, findingCodes, type Severity } from '../core/findings/findings';

export interface Settings {
  /** Path globs whose exports must be GPL-only. */
  gplOnlyPaths: string[];
  /** Severity per finding code, or off. */
  severity: Record<FindingCode, Severity>;
  /** Code lenses above export lines. */
  lenses: boolean;
  /** Path globs left out of the index. */
  exclude: string[];
  /** Whether test code (lib/test_*.c, kunit, selftests, samples) counts as a consumer. */
  testsCountAsConsumers: boolean;
  /** Export history from git (hover line, LATE_CONSUMER, NEVER_CONSUMED); only in trusted workspaces. */
  history: boolean;
  /** Exports exported more releases ago than this get no history finding. */
  historyMaxAgeReleases: number;
}

export const defaults: Settings = {
  gplOnlyPaths: [...defaultGplOnlyPaths],
  severity: { ...defaultSeverity },
  lenses: true,
  exclude: [],
  testsCountAsConsumers: true,
  history: true,
  historyMaxAgeReleases: 6,
};

const severities: readonly Severity[] = ['error', 'warning', 'info', 'hint', 'off'];

export interface ParsedSettings {
  settings: Settings;
  /** One message per malformed setting, naming it; the default is used instead. */
  warnings: string[];
}

/** Reads raw settings (from VS Code or a JSON file); anything malformed falls back to its default. */
export function parseSettings(raw: unknown): ParsedSettings {
  const warnings: string[] = [];
  const s: Settings = structuredClone(defaults);
  if (raw === undefined || raw === null) return { settings: s, warnings };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { settings: s, warnings: ['kexports settings: expected an object; using the defaults'] };
  }
  const r = raw as Record<string, unknown>;
  const strings = (key: keyof Settings): string[] | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    warnings.push(`kexports.${key}: expected a list of path globs; using the default`);
    return undefined;
  };
  const bool = (key: keyof Settings): boolean | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    warnings.push(`kexports.${key}: expected true or false; using the default`);
    return undefined;
  };
  s.gplOnlyPaths = strings('gplOnlyPaths') ?? s.gplOnlyPaths;
  s.exclude = strings('exclude') ?? s.exclude;
  s.lenses = bool('lenses') ?? s.lenses;
  s.history = bool('history') ?? s.history;
  const age = r.historyMaxAgeReleases;
  if (age !== undefined) {
    if (typeof age === 'number' && Number.isInteger(age) && age >= 0) s.historyMaxAgeReleases = age;
    else warnings.push(`kexports.historyMaxAgeReleases: expected a whole number of releases; using ${defaults.historyMaxAgeReleases}`);
  }
  s.testsCountAsConsumers = bool('testsCountAsConsumers') ?? s.testsCountAsConsumers;
  const sev = r.severity;
  if (sev !== undefined) {
    if (typeof sev !== 'object' || sev === null || Array.isArray(sev)) {
      warnings.push('kexports.severity: expected an object of code: severity; using the defaults');
    } else {
      for (const [code, value] of Object.entries(sev)) {
        if (!(findingCodes as readonly string[]).includes(code)) {
          warnings.push(`kexports.severity.${code}: no such finding code`);
        } else if (!severities.includes(value as Severity)) {
          warnings.push(`kexports.severity.${code}: expected one of ${severities.join(', ')}; using ${defaultSeverity[code as FindingCode]}`);
        } else s.severity[code as FindingCode] = value as Severity;
      }
    }
  }
  for (const key of Object.keys(r)) {
    if (!(key in defaults)) warnings.push(`kexports.${key}: unknown setting, ignored`);
  }
  return { settings: s, warnings };
}

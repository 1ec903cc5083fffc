/** Command-line parsing: flags with values, repeatable flags, positionals. */

export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  flags: Map<string, string[]>;
}

const valued = new Set(['--tree', '--format', '--fail-on', '--cache-dir', '--config', '--exclude', '--policy', '--workers', '--max-file-bytes']);
const booleans = new Set(['--uncommitted', '--no-cache', '--help', '-h', '--version', '--stdio', '--quiet', '--consumers', '--no-tests', '--history', '--keywords', '--summary']);

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { command: undefined, positionals: [], flags: new Map() };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === '--') {
      out.positionals.push(...argv.slice(k + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(0, eq) : a;
      if (valued.has(name)) {
        const value = eq > 0 ? a.slice(eq + 1) : argv[++k];
        if (value === undefined) throw new UsageError(`${name} needs a value`);
        out.flags.set(name, [...(out.flags.get(name) ?? []), value]);
      } else if (booleans.has(name)) out.flags.set(name, ['true']);
      else throw new UsageError(`unknown option ${name}`);
      continue;
    }
    if (out.command === undefined) out.command = a;
    else out.positionals.push(a);
  }
  return out;
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return v ? v[v.length - 1] : undefined;
}

export function flags(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}

export function has(args: ParsedArgs, name: string): boolean {
  return args.flags.has(name);
}

/** The --format value, one of `allowed`; text by default. */
export function format(args: ParsedArgs, allowed: readonly string[]): string {
  const f = flag(args, '--format') ?? 'text';
  if (!allowed.includes(f)) throw new UsageError(`--format ${f}: expected ${allowed.join(', ')}`);
  return f;
}

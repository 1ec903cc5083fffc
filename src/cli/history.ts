/** `kexports history PATH...` and `check --history`: export history from the tree's git log. */
import type { Finding } from '../core/findings/findings';
import type { FileHistory } from '../core/history/compute';
import { historyCsv, historyFindings, historyText } from '../core/history/render';
import { exportRefs, HistoryService } from '../core/history/service';
import { format, type ParsedArgs, UsageError } from './args';
import { type Context, type Io, openContext } from './context';

/** The histories of every file with an export under the context's paths, in path order. */
export async function historiesFor(ctx: Context, io: Io): Promise<FileHistory[]> {
  const files = [...new Set(ctx.index.exportsUnder(ctx.paths).map((e) => e.file))].sort();
  const service = new HistoryService(ctx.root, { cacheDir: ctx.cacheDir, testsCountAsConsumers: ctx.settings.testsCountAsConsumers, log: (m) => io.err(`kexports: ${m}\n`) });
  try {
    // The git processes are capped by the service; files run two at a time to keep them busy.
    const out: FileHistory[] = new Array(files.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const k = next++;
        out[k] = await service.history(files[k]!, exportRefs(ctx.index, files[k]!, ctx.settings.testsCountAsConsumers));
      }
    };
    await Promise.all([worker(), worker()]);
    return out;
  } finally {
    service.flush();
  }
}

export function historyFindingsFor(ctx: Context, histories: readonly FileHistory[]): Finding[] {
  return histories.flatMap((h) => historyFindings(h, { severity: ctx.settings.severity, maxAgeReleases: ctx.settings.historyMaxAgeReleases }));
}

export async function historyCommand(args: ParsedArgs, io: Io): Promise<number> {
  const fmt = format(args, ['text', 'json', 'csv']);
  if (args.positionals.length === 0) throw new UsageError('history needs at least one PATH: a file or a folder');
  const ctx = await openContext(args, io, { paths: true });
  const histories = await historiesFor(ctx, io);
  if (histories.length === 0) {
    io.err(`kexports: no export under ${ctx.paths.join(', ')}\n`);
    return 1;
  }
  for (const h of histories) for (const n of h.notes) if (fmt !== 'text') io.err(`kexports: ${h.path}: ${n}\n`);
  if (fmt === 'json') io.out(`${JSON.stringify({ tree: ctx.root, files: histories }, null, 1)}\n`);
  else if (fmt === 'csv') io.out(historyCsv(histories));
  else io.out(historyText(histories));
  return 0;
}

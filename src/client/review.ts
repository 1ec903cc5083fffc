/** "Kernel Exports: Review Series…" and "Kernel Exports: Copy Review Reply". */
import * as vscode from 'vscode';
import { type ReviewSourceParam, reviewSeries } from '../protocol/requests';
import type { ExtensionContext } from './context';

interface Choice extends vscode.QuickPickItem {
  make: () => Promise<ReviewSourceParam | undefined>;
}

export function registerReviewCommands(ctx: ExtensionContext): vscode.Disposable[] {
  let lastReply: string | undefined;
  const pick = async (): Promise<ReviewSourceParam | undefined> => {
    const trusted = vscode.workspace.isTrusted;
    const active = vscode.window.activeTextEditor?.document.uri;
    const git = (label: string, detail: string, make: Choice['make']): Choice => ({ label, detail: trusted ? detail : 'not in an untrusted workspace: git would read the repository config', make });
    const choices: Choice[] = [
      git('$(git-branch) Current branch against its upstream', 'the commits since the merge-base with @{upstream}', async () => ({ kind: 'range' })),
      git('$(history) Last N commits…', 'HEAD~N..HEAD', async () => {
        const n = await vscode.window.showInputBox({ title: 'How many commits?', value: '5', validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'a positive number') });
        return n ? { kind: 'range', range: `HEAD~${n}..HEAD` } : undefined;
      }),
      git('$(edit) A range…', 'origin/master..HEAD, A...B, v6.12..', async () => {
        const range = await vscode.window.showInputBox({ title: 'Git range to review', placeHolder: 'origin/master..HEAD' });
        return range ? { kind: 'range', range } : undefined;
      }),
      git('$(diff) Uncommitted changes', 'the working tree against HEAD, before sending', async () => ({ kind: 'uncommitted' })),
    ];
    if (active && /\.(mbox|patch|eml|diff)$/.test(active.path))
      choices.push({ label: '$(mail) The open mbox or patch', detail: vscode.workspace.asRelativePath(active), make: async () => ({ kind: 'path', uri: active.toString() }) });
    choices.push({
      label: '$(folder-opened) A file or folder…',
      detail: 'an mbox from b4 or lore, a .patch or .eml, a git format-patch folder',
      make: async () => {
        const uris = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, canSelectMany: false, title: 'Series to review' });
        return uris?.[0] ? { kind: 'path', uri: uris[0].toString() } : undefined;
      },
    });
    const chosen = await vscode.window.showQuickPick(choices, { title: 'Kernel Exports: Review Series', matchOnDetail: true });
    return chosen?.make();
  };

  return [
    vscode.commands.registerCommand('kexports.reviewSeries', async (source?: ReviewSourceParam) => {
      const client = ctx.languageClient;
      if (!client) return void vscode.window.showWarningMessage('Kernel Exports: the language server is not running.');
      const chosen = source ?? (await pick());
      if (!chosen) return;
      try {
        const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Kernel Exports: reviewing the series' }, () =>
          client.sendRequest(reviewSeries, { source: chosen }),
        );
        if (result.empty) return void vscode.window.showInformationMessage(`Kernel Exports: ${result.empty}.`);
        lastReply = result.reply;
        for (const p of result.problems) ctx.output.warn(p);
        const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: result.markdown });
        await vscode.commands.executeCommand('markdown.showPreview', doc.uri);
        if (result.problems.length)
          void vscode.window.showWarningMessage(`Kernel Exports: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} reading the series; see the output.`);
      } catch (e) {
        void vscode.window.showErrorMessage(`Kernel Exports: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('kexports.copyReviewReply', async () => {
      if (lastReply === undefined) return void vscode.window.showInformationMessage('Kernel Exports: review a series first (Kernel Exports: Review Series…).');
      await vscode.env.clipboard.writeText(lastReply);
      void vscode.window.showInformationMessage('Kernel Exports: the review reply is on the clipboard.');
    }),
  ];
}

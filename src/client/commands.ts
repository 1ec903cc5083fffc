/** The palette commands: Show Unused Exports, Re-index, and Export Timeline for This File. */
import * as vscode from 'vscode';
import { exportHistory, unusedExports } from '../protocol/requests';
import type { ExtensionContext } from './context';

export function registerCommands(ctx: ExtensionContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('kexports.showUnusedExports', async (folder?: vscode.Uri) => {
      const client = ctx.languageClient;
      if (!client) return void vscode.window.showWarningMessage('Kernel Exports: the language server is not running.');
      const active = vscode.window.activeTextEditor?.document.uri;
      let under = folder;
      if (!under && active) {
        const pick = await vscode.window.showQuickPick(
          [
            { label: 'Whole tree', under: undefined },
            { label: `Folder of ${vscode.workspace.asRelativePath(active)}`, under: vscode.Uri.joinPath(active, '..') },
          ],
          { title: 'Kernel Exports: Show Unused Exports' },
        );
        if (!pick) return;
        under = pick.under;
      }
      const list = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Finding unused exports' }, () =>
        client.sendRequest(unusedExports, under ? { under: under.toString() } : {}),
      );
      if (list.length === 0) return void vscode.window.showInformationMessage('Kernel Exports: every export has a consumer.');
      const chosen = await vscode.window.showQuickPick(
        list.map((u) => ({
          label: u.name,
          description: `${u.macro} · ${u.license}${u.note ? ` · ${u.note}` : ''}`,
          detail: `${vscode.workspace.asRelativePath(vscode.Uri.parse(u.uri))}:${u.line}`,
          u,
        })),
        { title: `${list.length} unused export${list.length === 1 ? '' : 's'}`, matchOnDescription: true, matchOnDetail: true },
      );
      if (!chosen) return;
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(chosen.u.uri));
      const pos = new vscode.Position(chosen.u.line - 1, 0);
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos) });
    }),
    vscode.commands.registerCommand('kexports.exportTimeline', async (target?: vscode.Uri) => {
      const client = ctx.languageClient;
      if (!client) return void vscode.window.showWarningMessage('Kernel Exports: the language server is not running.');
      const uri = target ?? vscode.window.activeTextEditor?.document.uri;
      if (!uri || uri.scheme !== 'file') return void vscode.window.showInformationMessage('Kernel Exports: open a C, header or assembly file of the tree first.');
      try {
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Kernel Exports: reading the git history of ${vscode.workspace.asRelativePath(uri)}` },
          () => client.sendRequest(exportHistory, { uri: uri.toString() }),
        );
        const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: result.markdown });
        await vscode.commands.executeCommand('markdown.showPreview', doc.uri);
      } catch (e) {
        void vscode.window.showErrorMessage(`Kernel Exports: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('kexports.reindex', async () => {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Kernel Exports: re-indexing' }, () => ctx.reindex());
    }),
  ];
}

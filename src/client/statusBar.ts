/** The status bar item: indexing, ready, error, or quiet outside a kernel tree. */
import * as vscode from 'vscode';
import type { StatusParams } from '../protocol/requests';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('kexports.status', vscode.StatusBarAlignment.Left, 10);
  last: StatusParams | undefined;

  constructor() {
    this.item.name = 'Kernel Exports';
    this.item.command = 'kexports.showUnusedExports';
  }

  show(p: StatusParams): void {
    this.last = p;
    const text = { indexing: '$(sync~spin) Exports', ready: '$(check) Exports', error: '$(error) Exports', idle: '' }[p.state];
    if (!text) {
      this.item.hide();
      return;
    }
    this.item.text = text;
    this.item.tooltip = `Kernel Exports: ${p.message}`;
    this.item.backgroundColor = p.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

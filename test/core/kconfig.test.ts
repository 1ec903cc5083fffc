/** Kconfig's lines as scripts/kconfig reads them: help text, comments, continued lines, line ends. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { condText } from '../../src/core/build/cond';
import { readKconfig } from '../../src/core/build/kconfig';

/** The symbols a Kconfig text defines: type, prompt, dependencies and defaults, as text. */
function symbolsOf(text: string | Uint8Array): string[] {
  const k = readKconfig((path) => (path === 'Kconfig' ? text : undefined), []);
  return [...k.symbols.values()].map((s) => `${s.name} ${s.type} ${s.prompt ? 'prompt' : '-'} [${condText(s.deps)}] [${condText(s.defaults)}]`).sort();
}

const KCONFIG = [
  'config FOO',
  '\ttristate "foo"',
  '\tdepends on PCI',
  '\thelp',
  '\t  Help text, read as nothing: config BAR',
  '',
  '\t  depends on NEVER_READ',
  '  \t',
  '\t  bool',
  '',
  '# a comment: config NOT_A_SYMBOL',
  'config BAR',
  '\tbool',
  '\tdepends on FOO && \\',
  '\t\t   !BAZ',
  '\tdefault y if FOO',
  '---help---',
  '  help at an indent of two',
  'config BAZ',
  '\tdef_bool y',
  '\t# a comment that a backslash continues \\',
  '\tdepends on SWALLOWED',
  '\tdepends on USB # a comment after the line',
  '',
].join('\n');

describe('Kconfig lines', () => {
  it('passes over help text, comments and blank lines, and joins continued lines', () => {
    assert.deepEqual(symbolsOf(KCONFIG), [
      // !BAZ holds where BAZ is n or m
      'BAR bool - [CONFIG_BAZ!=y && CONFIG_FOO] [CONFIG_BAZ!=y && CONFIG_FOO]',
      'BAZ bool - [CONFIG_USB] [CONFIG_USB]',
      'FOO tristate prompt [CONFIG_PCI] [never]',
    ]);
  });

  it('reads CRLF line ends, no-break spaces and bytes the same as a string', () => {
    // continued lines are the LF form's: compared without them
    const plain = KCONFIG.replace(/ \\\n/g, ' ');
    const crlf = plain.replace(/\n/g, '\r\n');
    assert.deepEqual(symbolsOf(crlf), symbolsOf(plain));
    assert.deepEqual(symbolsOf(Buffer.from(crlf, 'latin1')), symbolsOf(plain));
    assert.deepEqual(symbolsOf(Buffer.from(KCONFIG, 'latin1')), symbolsOf(KCONFIG));
    // a line of no-break spaces in help text is blank, as \s reads it: the help text goes on after it
    const nbsp = KCONFIG.replace('read as nothing: config BAR\n\n', 'read as nothing: config BAR\n\u00a0\u00a0\n');
    assert.notEqual(nbsp, KCONFIG);
    assert.deepEqual(symbolsOf(Buffer.from(nbsp, 'latin1')), symbolsOf(KCONFIG));
  });

  it('ends help text at the first line indented less than its first', () => {
    const text = ['config A', '\tbool "a"', '\thelp', '\t  text', '\t  more', '\tdepends on B', 'config C', '\tbool'].join('\n');
    assert.deepEqual(symbolsOf(text), ['A bool prompt [CONFIG_B] [never]', 'C bool - [always] [never]']);
  });

  it('says a config line with no symbol name is not understood, and reads on', () => {
    const text = ['config K\u0004M_CORE', '\tdef_bool y', 'config "quoted"', '\tbool', 'config KVM-X', '\ttristate "kvm"'].join('\n');
    const k = readKconfig((path) => (path === 'Kconfig' ? text : undefined), []);
    assert.deepEqual([...k.symbols.keys()], ['KVM-X']);
    assert.deepEqual(k.unknown, [
      { file: 'Kconfig', line: 1, what: 'config with no symbol name: "K\u0004M_CORE"' },
      { file: 'Kconfig', line: 3, what: 'config with no symbol name: ""quoted""' },
    ]);
  });
});

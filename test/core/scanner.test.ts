import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEF_CTX } from '../../src/core/scan/scanTypes';
import { newScanner, scanBuffer } from '../../src/core/scan/scanFile';
import { proxyRecords } from '../../src/core/scan/wire';

/** Scans `text` as `path`; returns exports, definitions, uses as name -> [line, proxy name or ''][], and the proxies named. */
function scan(text: string, path = 'mm/x.c', wrappers?: string[]) {
  const scanner = newScanner();
  const r = scanBuffer(scanner, path, Buffer.from(text, 'latin1'), wrappers ? new Set(wrappers) : undefined, true);
  const uses = new Map<string, [number, string][]>();
  const posted: string[] = [];
  for (let k = 0; k < r.uses.length; k += 3) {
    const name = scanner.interner.name(r.uses[k]!);
    const ctx = r.uses[k + 2]!;
    if (ctx === DEF_CTX) {
      posted.push(`${name}:${r.uses[k + 1]}`);
      continue;
    }
    const list = uses.get(name) ?? [];
    list.push([r.uses[k + 1]!, ctx ? scanner.interner.name(r.proxies[(ctx - 1) * 3]!) : '']);
    uses.set(name, list);
  }
  return { ...r, useOf: uses, posted, proxied: proxyRecords(r, (id) => scanner.interner.name(id)) };
}

describe('scanner: export macros', () => {
  it('reads every spelling with its arguments and position', () => {
    const r = scan(
      [
        'EXPORT_SYMBOL(a);',
        'EXPORT_SYMBOL_GPL(b);',
        'EXPORT_SYMBOL_NS(c, FOO);',
        'EXPORT_SYMBOL_NS_GPL(d, "BAR");',
        'EXPORT_SYMBOL_FOR_MODULES(e, "kvm,kvm-intel");',
        'EXPORT_PER_CPU_SYMBOL_GPL(f);',
        'EXPORT_TRACEPOINT_SYMBOL(g);',
        'EXPORT_STATIC_CALL_TRAMP_GPL(h);',
        'EXPORT_SYMBOL_IF_KUNIT(i);',
        'EXPORT_UNUSED_SYMBOL(j);',
        'EXPORT_SYMBOL_GPL_FUTURE(k);',
        '\tEXPORT_SYMBOL(  l  ) ;',
      ].join('\n'),
    );
    assert.deepEqual(
      r.exports.map((e) => [e.macro, e.args, e.line, e.col]),
      [
        ['EXPORT_SYMBOL', ['a'], 1, 0],
        ['EXPORT_SYMBOL_GPL', ['b'], 2, 0],
        ['EXPORT_SYMBOL_NS', ['c', 'FOO'], 3, 0],
        ['EXPORT_SYMBOL_NS_GPL', ['d', '"BAR"'], 4, 0],
        ['EXPORT_SYMBOL_FOR_MODULES', ['e', '"kvm,kvm-intel"'], 5, 0],
        ['EXPORT_PER_CPU_SYMBOL_GPL', ['f'], 6, 0],
        ['EXPORT_TRACEPOINT_SYMBOL', ['g'], 7, 0],
        ['EXPORT_STATIC_CALL_TRAMP_GPL', ['h'], 8, 0],
        ['EXPORT_SYMBOL_IF_KUNIT', ['i'], 9, 0],
        ['EXPORT_UNUSED_SYMBOL', ['j'], 10, 0],
        ['EXPORT_SYMBOL_GPL_FUTURE', ['k'], 11, 0],
        ['EXPORT_SYMBOL', ['l'], 12, 1],
      ],
    );
  });

  it('ignores exports in comments, strings, #if 0 blocks and macro bodies', () => {
    const r = scan(
      [
        '/* EXPORT_SYMBOL(in_comment); */',
        '// EXPORT_SYMBOL(in_line_comment);',
        'const char *s = "EXPORT_SYMBOL(in_string)";',
        '#if 0',
        'EXPORT_SYMBOL(in_if0);',
        '#if 1',
        'EXPORT_SYMBOL(nested_in_if0);',
        '#endif',
        '#else',
        'EXPORT_SYMBOL(in_else);',
        '#endif',
        '#define WRAP(x) EXPORT_SYMBOL(x)',
        'EXPORT_SYMBOL(real);',
      ].join('\n'),
    );
    assert.deepEqual(
      r.exports.map((e) => [e.args[0], e.line]),
      [
        ['in_else', 10],
        ['real', 13],
      ],
    );
    assert.deepEqual(
      r.wrappers.map((w) => [w.name, w.params, w.line]),
      [['WRAP', ['x'], 12]],
    );
  });

  it('records the DEFAULT_SYMBOL_NAMESPACE in force and the preprocessor branch', () => {
    const r = scan(['EXPORT_SYMBOL(before);', '#define DEFAULT_SYMBOL_NAMESPACE "NS1"', '#ifdef CONFIG_A', 'EXPORT_SYMBOL(a);', '#else', 'EXPORT_SYMBOL(a);', '#endif'].join('\n'));
    assert.deepEqual(
      r.exports.map((e) => [e.args[0], e.fileNamespace ?? null, e.cond]),
      [
        ['before', null, ''],
        ['a', 'NS1', '1.0'],
        ['a', 'NS1', '1.1'],
      ],
    );
  });

  it('treats calls of known wrapper macros as exports', () => {
    const r = scan('int f(void) { return 0; }\nACPI_EXPORT_SYMBOL(f)\n', 'drivers/acpi/acpica/x.c', ['ACPI_EXPORT_SYMBOL']);
    assert.deepEqual(
      r.exports.map((e) => [e.macro, e.args, e.line]),
      [['ACPI_EXPORT_SYMBOL', ['f'], 2]],
    );
  });

  it('reads MODULE_IMPORT_NS in both syntaxes', () => {
    const r = scan('MODULE_IMPORT_NS(CXL);\nMODULE_IMPORT_NS("DMA_BUF");\n');
    assert.deepEqual(r.imports, [
      { ns: 'CXL', line: 1 },
      { ns: 'DMA_BUF', line: 2 },
    ]);
  });
});

describe('scanner: definitions', () => {
  it('finds functions, variables and DEFINE_*() variables with their extent and linkage', () => {
    const r = scan(
      [
        'static int helper(int a)', // 1
        '{', // 2
        '\treturn a;', // 3
        '}', // 4
        'int __init pub(struct x *p,', // 5
        '\t\tint b)', // 6
        '{', // 7
        '\treturn helper(b);', // 8
        '}', // 9
        'unsigned long counter = 3;', // 10
        'static DEFINE_MUTEX(lock);', // 11
        'DEFINE_STATIC_KEY_FALSE(key);', // 12
        'int proto(void);', // 13
        'extern int ext;', // 14
        'struct ops table = {', // 15
        '\t.fn = pub,', // 16
        '};', // 17
      ].join('\n'),
    );
    assert.deepEqual(
      r.defs.map((d) => [d.name, d.line, d.endLine, d.isStatic, d.kind]),
      [
        ['helper', 1, 4, true, 'function'],
        ['pub', 5, 9, false, 'function'],
        ['counter', 10, 10, false, 'variable'],
        ['lock', 11, 11, true, 'macro-variable'],
        ['key', 12, 12, false, 'macro-variable'],
        ['table', 15, 17, false, 'variable'],
      ],
    );
    assert.deepEqual(r.posted, ['pub:5', 'counter:10', 'key:12', 'table:15'], 'non-static definitions are postings');
  });

  it('keeps brace depth across #if/#else alternatives of a function head', () => {
    const r = scan(['#ifdef A', 'int f(int a) {', '#else', 'int f(long a) {', '#endif', '\treturn 0;', '}', 'int g(void) { return h(); }'].join('\n'));
    assert.deepEqual(
      r.defs.map((d) => [d.name, d.line, d.endLine]),
      [
        ['f', 2, 7],
        ['g', 8, 8],
      ],
    );
    assert.deepEqual(r.useOf.get('h'), [[8, '']]);
  });

  it('finds labels and SYM_FUNC_START() in assembly', () => {
    const r = scan('SYM_FUNC_START(__memcpy)\n\tret\nSYM_FUNC_END(__memcpy)\nEXPORT_SYMBOL(__memcpy)\nlocal_label:\n\tcall kmalloc\n', 'arch/x86/lib/m.S');
    assert.deepEqual(
      r.defs.map((d) => [d.name, d.line, d.kind]),
      [
        ['__memcpy', 1, 'asm-label'],
        ['local_label', 5, 'asm-label'],
      ],
    );
    assert.deepEqual(r.useOf.get('kmalloc'), [[6, '']]);
  });

  it('keeps for the index only the definitions of the names the file exports', () => {
    const text = ['int helper(void) { return 1; }', 'int hmm_range_fault(void) { return helper(); }', 'EXPORT_SYMBOL_GPL(hmm_range_fault);', 'static int unused;'].join('\n');
    const forIndex = (t: string) => scanBuffer(newScanner(), 'mm/hmm.c', Buffer.from(t, 'latin1')).defs.map((d) => [d.name, d.line]);
    assert.deepEqual(forIndex(text), [['hmm_range_fault', 2]]);
    assert.deepEqual(forIndex(text.replace('EXPORT_SYMBOL_GPL(hmm_range_fault);', '')), []);
    // the editor's scans keep every definition
    assert.deepEqual(
      scan(text, 'mm/hmm.c').defs.map((d) => d.name),
      ['helper', 'hmm_range_fault', 'unused'],
    );
  });
});

describe('scanner: uses', () => {
  it('counts calls and references, not members, prototypes, extern declarations or DECLARE_*()', () => {
    const r = scan(
      [
        'int hmm_range_fault(struct hmm_range *r);', // 1 prototype
        'extern int hmm_count;', // 2 extern
        'DECLARE_STATIC_KEY_FALSE(devmap_key);', // 3 declaration
        'static int f(struct s *p)', // 4
        '{', // 5
        '\tp->hmm_range_fault = 1;', // 6 member
        '\tp->ops.hmm_count++;', // 7 member
        '\treturn hmm_range_fault(p) + hmm_count;', // 8 uses
        '}', // 9
        'static void *tab[] = { &devmap_key };', // 10 use in an initializer
      ].join('\n'),
    );
    assert.deepEqual(r.useOf.get('hmm_range_fault'), [[8, '']]);
    assert.deepEqual(r.useOf.get('hmm_count'), [[8, '']]);
    assert.deepEqual(r.useOf.get('devmap_key'), [[10, '']]);
  });

  it('marks uses in header inline functions and macros as proxies, with first lines', () => {
    const r = scan(
      [
        'static inline void put_page(struct page *page)', // 1
        '{', // 2
        '\tif (static_branch_unlikely(&devmap_managed_key))', // 3
        '\t\tput_devmap_managed_page(page);', // 4
        '}', // 5
        '#define current get_current()', // 6
        '#define NR_THINGS 42', // 7 plain number: no proxy
        '#define field_of(p) ((p)->devmap_managed_key)', // 8 member: no use
        '#define glue(x) prefix_##x', // 9 pasted: no use
      ].join('\n'),
      'include/linux/mm.h',
    );
    assert.deepEqual(r.useOf.get('devmap_managed_key'), [[3, 'put_page']]);
    assert.deepEqual(r.useOf.get('put_devmap_managed_page'), [[4, 'put_page']]);
    assert.deepEqual(r.useOf.get('get_current'), [[6, 'current']]);
    assert.equal(r.useOf.get('prefix_'), undefined);
    assert.deepEqual(
      r.proxied.map((p) => [p.name, p.kind]),
      [
        ['put_page', 'inline'],
        ['current', 'macro'],
      ],
    );
  });

  it('does not make proxies in tools/ headers', () => {
    const r = scan('static inline int f(void) { return g(); }\n', 'tools/include/linux/x.h');
    assert.equal(r.proxies.length, 0);
    assert.deepEqual(r.useOf.get('g'), [[1, '']]);
  });

  it('counts lines through comments, continuations and strings', () => {
    const r = scan('/* a\n b\n c */\n#define X \\\n  y\nchar *s = "a\\\nb";\nint z = w;\n');
    assert.deepEqual(r.useOf.get('y'), [[5, '']]);
    assert.deepEqual(r.useOf.get('w'), [[8, '']]);
    assert.equal(r.lines, 9);
  });
});

describe('scanner: broken input', () => {
  for (const [name, text] of [
    ['unterminated comment', 'int a;\n/* never closed\nEXPORT_SYMBOL(x);'],
    ['unterminated string', 'char *s = "never closed\nEXPORT_SYMBOL(x);\n'],
    ['unbalanced braces', '}}}} int f(void) {{{ EXPORT_SYMBOL(x);'],
    ['stray bytes', 'int \xff\xfe f(void) { return 0; }\nEXPORT_SYMBOL(f);\n'],
    ['unterminated #if 0', '#if 0\nEXPORT_SYMBOL(x);\n'],
    ['export call cut off', 'EXPORT_SYMBOL(x'],
    ['lone quote', "int a = ';\nEXPORT_SYMBOL(a);\n"],
  ] as const) {
    it(`survives ${name}`, () => {
      const r = scan(text);
      assert.ok(r.lines >= 1);
    });
  }

  it('still finds the export after stray non-UTF-8 bytes', () => {
    const r = scan('/* caf\xe9 */ int f(void) { return 0; }\nEXPORT_SYMBOL(f);\n');
    assert.deepEqual(
      r.exports.map((e) => [e.args[0], e.line]),
      [['f', 2]],
    );
  });
});

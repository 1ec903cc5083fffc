/**
 * The bulk answers of `consumers`, written as they are made: a JSON array or JSON Lines, one record
 * at a time, and a popular export's consumers a piece at a time. Every export of linux-6.1 has 12 M
 * consumers, 3.5 GB of JSON; neither the whole nor one object per consumer is ever made.
 */
import type { BuildAnswers } from '../core/build/answers';
import type { ConsumerClass } from '../core/index/classify';
import type { Via } from '../core/index/index';
import type { Io } from './context';
import type { NamedCounts } from './format';
import { PerFile } from './perFile';

/**
 * Writes a list's items: each item's JSON text after a comma, a line break and its indent (listItem()
 * makes one), at the depth of a list inside a record. The comma comes with the item, so that a
 * consumer's text is three pieces, not a dozen: 12 M consumers' texts are joined and encoded.
 */
export type ListItems = (item: (json: string) => void) => void;

/** Records written one at a time: JSON Lines, one compact record a line. */
export interface RecordWriter {
  record: (r: object) => void;
  /** record({ ...r, [key]: { name: count, … } }), the names in their order (r has a key or more) */
  recordWithCounts: (r: object, key: string, named: NamedCounts) => void;
  end: () => void;
}

export function jsonLines(io: Io): RecordWriter {
  return {
    record: (r) => io.out(`${JSON.stringify(r)}\n`),
    recordWithCounts: (r, key, { quoted, counts }) => io.out(`${JSON.stringify(r).slice(0, -1)},${JSON.stringify(key)}:{${quoted.map((q, j) => `${q}:${counts[j]}`).join(',')}}}\n`),
    end: () => undefined,
  };
}

/** Records written one at a time as a JSON array, byte for byte what JSON.stringify(list, null, 1) gives. */
export interface ArrayWriter extends RecordWriter {
  /**
   * record({ ...head, [key]: list, … }), each list's items written by its function (listItem()
   * makes one) and sent out 256 at a time: a popular export's record is megabytes of JSON, and 300
   * of them made whole waited in the old generation for a full collection.
   */
  recordWithLists: (head: object, lists: readonly (readonly [string, ListItems])[]) => void;
}

export function jsonArray(io: Io): ArrayWriter {
  let n = 0;
  const record = (text: string): void => io.out(`${n++ === 0 ? '[\n' : ',\n'} ${text.replace(/\n/g, '\n ')}`);
  return {
    record: (r) => record(JSON.stringify(r, null, 1)),
    recordWithCounts: (r, key, { quoted, counts }) => {
      const pairs = quoted.length ? `{\n  ${quoted.map((q, j) => `${q}: ${counts[j]}`).join(',\n  ')}\n }` : '{}';
      record(`${JSON.stringify(r, null, 1).slice(0, -2)},\n ${JSON.stringify(key)}: ${pairs}\n}`);
    },
    recordWithLists: (head, lists) => {
      // the head's keys at depth 2 of the array, each list's items at depth 3
      io.out(`${n++ === 0 ? '[\n ' : ',\n '}${JSON.stringify(head, null, 1).slice(0, -2).replace(/\n/g, '\n ')}`);
      for (const [key, fill] of lists) {
        let out = `,\n  ${JSON.stringify(key)}: `;
        let k = 0;
        fill((json) => {
          out += k ? json : `[${json.slice(1)}`;
          if ((++k & 255) === 0) {
            io.out(out);
            out = '';
          }
        });
        io.out(`${out}${k ? '\n  ]' : '[]'}`);
      }
      io.out('\n }');
    },
    end: () => io.out(n === 0 ? '[]\n' : '\n]\n'),
  };
}

/** A list item's text as recordWithLists() wants it: JSON.stringify(item, null, 1) at depth 3, after a comma. */
export const listItem = (item: unknown): string => `,\n   ${JSON.stringify(item, null, 1).replace(/\n/g, '\n   ')}`;

/**
 * Consumers as items of a record's list, each the text listItem(consumerJson(c, build)) gives, made
 * from pieces kept for each file (up to its line; from its class on, per class), class and proxy
 * (its `via`), not from an object for each consumer.
 */
export class ConsumerItems {
  private readonly heads = new PerFile((file) => flat(`,\n   {\n    "file": ${JSON.stringify(file)},\n    "line": `));
  private readonly modules: PerFile<string>;
  /** per class: a file's class may differ from one exporter to the next (the same directory, another architecture) */
  private readonly tails = new Map<ConsumerClass, PerFile<string>>();
  private readonly viaTexts = new WeakMap<Via, string>();
  private readonly classTexts = new Map<string, string>();

  constructor(build: BuildAnswers | undefined) {
    // the file's `modules` and `modular`, or nothing without a build model
    this.modules = new PerFile((file) => (build ? flat(fields({ modules: build.modules(file), modular: build.modular(file) })) : ''));
  }

  item(file: string, line: number, fileIdx: number, cls: ConsumerClass, via: Via | undefined): string {
    const head = this.heads.of(file, fileIdx);
    if (via) {
      let viaText = this.viaTexts.get(via);
      if (viaText === undefined) this.viaTexts.set(via, (viaText = flat(fields({ via }))));
      return `${head}${line}${this.classText(cls)}${viaText}${this.modules.of(file, fileIdx)}\n   }`;
    }
    let tails = this.tails.get(cls);
    if (!tails) this.tails.set(cls, (tails = new PerFile((f, i) => flat(`${this.classText(cls)}${this.modules.of(f, i)}\n   }`))));
    return `${head}${line}${tails.of(file, fileIdx)}`;
  }

  private classText(cls: ConsumerClass): string {
    let text = this.classTexts.get(cls);
    if (text === undefined) this.classTexts.set(cls, (text = flat(`,\n    "cls": ${JSON.stringify(cls)}`)));
    return text;
  }
}

/** An object's fields as they follow others inside an item at depth 3: `,\n    "key": value`… */
const fields = (o: object): string => `,${JSON.stringify(o, null, 1).slice(1, -2).replace(/\n/g, '\n   ')}`;

/**
 * The string in one piece. A text joined with + or a template is a tree of its pieces until it is
 * read, and the texts kept per file are read again for every consumer in them: joined into the
 * output's pieces as trees of trees, encoding them took 4.4 s of 3,000 exports' JSON (1.3 GB), and
 * 1.0 s in one piece each.
 */
const flat = (s: string): string => Buffer.from(s).toString();

/**
 * Writes consumers as a JSON array of "file:line" strings, as JSON.stringify() writes it: each file's
 * quoted, escaped path is made once (12 M consumers of every export of linux-6.1 are 56,000 files),
 * and the text goes out in pieces of 1,024, which die young: a popular export's 1.5 MB line, made
 * whole, waited in the old generation with 300 others like it for a full collection.
 */
export function writeFileLines(io: Io, quoted: QuotedPaths, list: (each: (file: string, line: number, fileIdx?: number) => void) => void): void {
  let out = '';
  let k = 0;
  list((file, line, fileIdx) => {
    const head = quoted.of(file, fileIdx);
    out += `${k ? head : `[${head.slice(1)}`}${line}"`;
    if ((++k & 1023) === 0) {
      io.out(out);
      out = '';
    }
  });
  io.out(k ? `${out}]` : '[]');
}

/**
 * How each file's "file:line" string begins, after the comma before it: the path quoted and escaped
 * as JSON.stringify() does, and a colon.
 */
export type QuotedPaths = PerFile<string>;
export const quotedPaths = (): QuotedPaths => new PerFile((file) => flat(`,${JSON.stringify(file).slice(0, -1)}:`));

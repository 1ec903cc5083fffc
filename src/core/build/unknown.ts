/** A construct the build model does not understand, with where it is: counted and reported, never dropped. */
export interface Unknown {
  file: string;
  line: number;
  what: string;
}

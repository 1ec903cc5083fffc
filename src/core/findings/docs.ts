/** Where each code is documented: its README section, which the Problems panel and reports link to. */
import { findingCodes } from './findings';

export const README_URL = 'https://github.com/kexports/kexports/blob/main/README.md';

/** A check code has a section of its own; a review code is in the review section's table. */
export function codeAnchor(code: string): string {
  return (findingCodes as readonly string[]).includes(code) ? `${README_URL}#${code.toLowerCase()}` : `${README_URL}#reviewing-a-series`;
}

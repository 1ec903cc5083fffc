/** The findings' codes: what `check`, the editor and the README name them. */

/** The codes that come from an export's consumers. */
export const consumerCodes = ['NO_CONSUMER', 'TEST_ONLY_CONSUMERS', 'SAME_DIR_CONSUMERS', 'SAME_MODULE_CONSUMERS', 'BUILTIN_ONLY_CONSUMERS', 'FOR_MODULES_REFUSED', 'FOR_MODULES_CANDIDATE'] as const;

export const findingCodes = [
  'NOT_GPL_ONLY',
  ...consumerCodes,
  'EXPORT_SYMBOL_PLACEMENT',
  'STATIC_EXPORT',
  'DUPLICATE_EXPORT',
  'DEFAULT_NAMESPACE_IGNORED',
  'UNRESOLVED_EXPORT',
  'LATE_CONSUMER',
  'NEVER_CONSUMED',
] as const;
export type FindingCode = (typeof findingCodes)[number];

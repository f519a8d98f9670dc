import canonicalizeImport from 'canonicalize';

// canonicalize ships CommonJS with a default export; tolerate both interop shapes.
const canonicalize: (input: unknown) => string | undefined =
  (canonicalizeImport as unknown as { default?: (i: unknown) => string | undefined }).default ??
  (canonicalizeImport as unknown as (i: unknown) => string | undefined);

/**
 * Canonical JSON per RFC 8785 (JCS): keys sorted by UTF-16 code units, no insignificant white
 * space, ECMAScript number formatting. The same value always gives the same bytes, whichever
 * store or language produced it, which is what the hash chain needs.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be represented as canonical JSON');
  return text;
}

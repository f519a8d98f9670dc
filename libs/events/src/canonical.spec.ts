import canonicalizeImport from 'canonicalize';
import fc from 'fast-check';
import { canonicalEventParts, canonicalJson } from './canonical';

// The package this writer replaced, kept as a dev dependency to check against.
const canonicalize: (input: unknown) => string | undefined =
  (canonicalizeImport as unknown as { default?: (i: unknown) => string | undefined }).default ?? canonicalizeImport;

/** JSON values with any UTF-16 text (lone surrogates too) in keys and strings, any finite double. */
const { value: jsonish } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, Number.MIN_SAFE_INTEGER, 30.5, 0.1),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('a', 'b', '10', '2', 'é', '\u{1F600}', '\uFFFD')), tie('value'), { maxKeys: 6 }),
  ),
}));

describe('canonical JSON writer', () => {
  it('gives the bytes of the canonicalize package on random values (unicode, numbers, nesting)', () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 3000 },
    );
  });

  it('skips undefined members, writes undefined array items as null and calls toJSON, as the package does', () => {
    const value = { b: undefined, a: [undefined, new Date('2024-01-15T09:30:00.000Z')], c: { toJSON: () => 'x' } };
    expect(canonicalJson(value)).toBe(canonicalize(value));
    expect(canonicalJson(value)).toBe('{"a":[null,"2024-01-15T09:30:00.000Z"],"c":"x"}');
  });

  it('refuses what JSON cannot represent with a clear error', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(/Infinity is not allowed/);
    expect(() => canonicalJson(10n)).toThrow(/BigInt/);
    expect(() => canonicalJson(undefined)).toThrow(/cannot be represented/);
  });
});

describe('canonical event parts', () => {
  const meta = fc
    .dictionary(
      fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.constantFrom('actor', 'effectiveAt', 'channel', 'causationId', 'correlationId', 'r', 'recordedA', 'recordedAt0', 'z'),
      ),
      jsonish,
      { maxKeys: 6 },
    )
    .filter((m) => !('recordedAt' in m));

  it('joined with recordedAt, prevHash and revision, give the canonical JSON of the whole record', () => {
    fc.assert(
      fc.property(
        fc.record({
          eventId: fc.uuid(),
          streamId: fc.string({ unit: 'binary' }),
          type: fc.string(),
          schemaVersion: fc.integer({ min: 1, max: 1000 }),
          data: jsonish,
          metadata: meta,
        }),
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (event, at, prevHash, revision) => {
          const recordedAt = at.toISOString();
          const [a, b, c, d] = canonicalEventParts(event);
          const record = { ...event, revision, prevHash, metadata: { ...event.metadata, recordedAt } };
          expect(`${a}${recordedAt}${b}${prevHash}${c}${revision}${d}`).toBe(canonicalize(record));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

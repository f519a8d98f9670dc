/**
 * Canonical JSON per RFC 8785 (JCS): keys sorted by UTF-16 code units, no insignificant white
 * space, ECMAScript number formatting. The same value always gives the same bytes, whichever
 * store or language produced it, which is what the hash chain needs.
 *
 * Written by hand, one pass of string concatenation: the `canonicalize` package (whose output
 * this matches byte for byte, canonical.spec.ts checks it on random values) builds every level
 * with `reduce` and templates and was a third of the writer's CPU (issue 14). Strings go through
 * `JSON.stringify`, which escapes exactly as RFC 8785 §3.2.2.2 asks; numbers through
 * `Number.prototype.toString`, which is the ECMAScript formatting RFC 8785 §3.2.2.3 names.
 */
export function canonicalJson(value: unknown): string {
  const text = write(value);
  if (text === undefined) throw new TypeError('value cannot be represented as canonical JSON');
  return text;
}

function write(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} is not allowed in canonical JSON`);
      // -0 prints as "0", 1e21 as "1e+21": the ECMAScript forms.
      return `${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return value === null ? 'null' : writeObject(value as Record<string, unknown>);
    case 'bigint':
      throw new TypeError('a BigInt is not allowed in canonical JSON');
    default:
      // undefined, functions and symbols have no JSON form: skipped in objects, null in arrays.
      return undefined;
  }
}

function writeObject(value: Record<string, unknown>): string | undefined {
  if (typeof value.toJSON === 'function') return write((value.toJSON as () => unknown)());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) out += ',';
      out += write(value[i]) ?? 'null';
    }
    return `${out}]`;
  }
  // The default sort compares UTF-16 code units, as RFC 8785 §3.2.3 asks.
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = write(value[key]);
    if (member === undefined) continue;
    out += first ? `${JSON.stringify(key)}:${member}` : `,${JSON.stringify(key)}:${member}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * The canonical JSON of an event record (hash.ts's HashedRecord) cut around the three values the
 * store sets under its lock: `metadata.recordedAt`, `prevHash` and `revision`. The text is
 * `parts[0] + recordedAt + parts[1] + prevHash + parts[2] + revision + parts[3]` (the two strings
 * without their quotes, which the parts hold; the revision as an integer): a writer can serialise
 * an event before it knows where the stream stands and when the store records it, and the store
 * completes it (event-store.schema.ts, es_append_group).
 */
export function canonicalEventParts(event: {
  eventId: string;
  streamId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: Record<string, unknown>;
}): [string, string, string, string] {
  if ('recordedAt' in event.metadata) throw new TypeError('the metadata of an event to record must not hold recordedAt');
  // The record's keys in canonical order: data, eventId, metadata, prevHash, revision,
  // schemaVersion, streamId, type (hash.ts).
  const metaKeys = [...Object.keys(event.metadata), 'recordedAt'].sort();
  let meta = '{';
  let first = true;
  let before = '';
  for (const key of metaKeys) {
    if (key === 'recordedAt') {
      before = `${meta}${first ? '' : ','}"recordedAt":"`;
      meta = '';
      first = false;
      continue;
    }
    const member = write(event.metadata[key]);
    if (member === undefined) continue;
    meta += `${first ? '' : ','}${JSON.stringify(key)}:${member}`;
    first = false;
  }
  const data = write(event.data);
  if (data === undefined) throw new TypeError('an event to record needs data that JSON can represent');
  return [
    `{"data":${data},"eventId":${JSON.stringify(event.eventId)},"metadata":${before}`,
    `"${meta}},"prevHash":"`,
    '","revision":',
    `,"schemaVersion":${write(event.schemaVersion)},"streamId":${JSON.stringify(event.streamId)},"type":${JSON.stringify(event.type)}}`,
  ];
}

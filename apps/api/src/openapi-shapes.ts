/**
 * Schemas and examples from what the API answers (test/openapi-answers.e2e-spec.ts records them in
 * openapi-answers.ts), and how openapi.ts completes its hand-written schemas with them.
 */
type Schema = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
/** Keys that are codes (indicators, lists by code): the object is a map, not a record. */
const CODE_KEY = /^(V[12]_[A-Z0-9_]+|\d+)$/;

/** The schema of one answer: types, properties (all required), arrays by the union of their items, maps keyed by codes. */
export function inferSchema(value: unknown): Schema {
  if (value === null) return { nullable: true };
  if (Array.isArray(value)) return value.length === 0 ? { type: 'array', items: {} } : { type: 'array', items: value.map(inferSchema).reduce(union) };
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length > 0 && keys.every((k) => CODE_KEY.test(k)))
      return { type: 'object', additionalProperties: Object.values(value).map(inferSchema).reduce(union) };
    return { type: 'object', properties: Object.fromEntries(keys.map((k) => [k, inferSchema(value[k])])), required: keys };
  }
  if (typeof value === 'string') return INSTANT.test(value) ? { type: 'string', format: 'date-time' } : { type: 'string' };
  if (typeof value === 'number') return { type: 'number' };
  if (typeof value === 'boolean') return { type: 'boolean' };
  return {};
}

/** Two inferred schemas as one: properties merged (required where both require), types joined, null made nullable. */
function union(a: Schema, b: Schema): Schema {
  if (Object.keys(a).length === 0 || Object.keys(b).length === 0) return {};
  if (a.type === undefined && a.nullable) return { ...b, nullable: true };
  if (b.type === undefined && b.nullable) return { ...a, nullable: true };
  const nullable = a.nullable || b.nullable ? { nullable: true } : {};
  // Several types (a target "2/3" or 0.7, neutralised false or "deemed-met"): any value.
  if (a.type !== b.type) return {};
  if (a.type === 'array') return { type: 'array', items: union(a.items as Schema, b.items as Schema), ...nullable };
  if (a.type === 'object') {
    if (a.additionalProperties || b.additionalProperties) {
      const values = [
        a.additionalProperties,
        b.additionalProperties,
        ...Object.values((a.properties ?? {}) as Record<string, Schema>),
        ...Object.values((b.properties ?? {}) as Record<string, Schema>),
      ].filter(isObject);
      return { type: 'object', additionalProperties: values.reduce(union), ...nullable };
    }
    const pa = (a.properties ?? {}) as Record<string, Schema>;
    const pb = (b.properties ?? {}) as Record<string, Schema>;
    const keys = [...new Set([...Object.keys(pa), ...Object.keys(pb)])];
    const ra = new Set(a.required as string[]);
    const rb = new Set(b.required as string[]);
    return {
      type: 'object',
      properties: Object.fromEntries(keys.map((k) => [k, pa[k] && pb[k] ? union(pa[k], pb[k]) : (pa[k] ?? pb[k])!])),
      required: keys.filter((k) => ra.has(k) && rb.has(k)),
      ...nullable,
    };
  }
  if (a.format !== b.format) return { type: a.type, ...nullable };
  return { ...a, ...nullable };
}

/** An answer as an example: arrays cut to their first two items. */
export function trimExample(value: unknown): unknown {
  if (Array.isArray(value)) return value.slice(0, 2).map(trimExample);
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, trimExample(v)]));
  return value;
}

/** Where an example's shape (keys, kinds, first items) differs from an answer's, or '' when it does not. */
export function sameShape(example: unknown, answer: unknown, at = '$'): string {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(example) !== kind(answer))
    return kind(example) === 'null' || kind(answer) === 'null' ? '' : `${at}: ${kind(example)} in the example, ${kind(answer)} in the answer`;
  if (Array.isArray(example) && Array.isArray(answer)) return example.length > 0 && answer.length > 0 ? sameShape(example[0], answer[0], `${at}[0]`) : '';
  if (isObject(example) && isObject(answer)) {
    const a = Object.keys(example).sort();
    const b = Object.keys(answer).sort();
    if (a.every((k) => CODE_KEY.test(k)) && b.every((k) => CODE_KEY.test(k))) return '';
    const missing = b.filter((k) => !a.includes(k));
    const extra = a.filter((k) => !b.includes(k));
    if (missing.length > 0 || extra.length > 0)
      return `${at}: ${missing.length > 0 ? `the example lacks ${missing.join(', ')}` : ''}${missing.length > 0 && extra.length > 0 ? '; ' : ''}${extra.length > 0 ? `the answer has no ${extra.join(', ')}` : ''}`;
    for (const k of a) {
      const d = sameShape(example[k], answer[k], `${at}.${k}`);
      if (d) return d;
    }
  }
  return '';
}

/**
 * A hand-written schema completed by the inferred one: a `$ref` or a closed schema stays; an object
 * without properties takes the inferred properties; properties the hand did not write are added.
 */
export function completeSchema(hand: Schema | undefined, inferred: Schema | undefined): Schema | undefined {
  if (!inferred) return hand;
  if (!hand) return inferred;
  if (hand.$ref || hand.type === 'string') return hand;
  if (hand.type === 'array' || inferred.type === 'array') {
    return hand.type === 'array' && inferred.type === 'array'
      ? { ...hand, items: completeSchema(hand.items as Schema | undefined, inferred.items as Schema | undefined) ?? {} }
      : hand;
  }
  if (hand.type === 'object' && inferred.type === 'object') {
    if (!hand.properties) return { ...inferred, ...Object.fromEntries(Object.entries(hand).filter(([k]) => k !== 'type')) };
    const hp = hand.properties as Record<string, Schema>;
    const ip = (inferred.properties ?? {}) as Record<string, Schema>;
    const keys = [...new Set([...Object.keys(hp), ...Object.keys(ip)])];
    return { ...hand, properties: Object.fromEntries(keys.map((k) => [k, completeSchema(hp[k], ip[k]) ?? {}])) };
  }
  return hand;
}

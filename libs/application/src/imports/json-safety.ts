/**
 * What PostgreSQL's jsonb (and any store behind it) cannot keep, or what must never reach a DTO,
 * found in a parsed JSON value before anything is decided or stored: NUL characters and lone
 * surrogates (jsonb refuses both: a 500 otherwise), keys that reach prototypes, and nesting deeper
 * than any body of the contract needs.
 */
export const MAX_JSON_DEPTH = 32;

/** Keys refused like any unknown field: they name prototypes, never a field of the contract. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface JsonProblem {
  kind: 'too-deep' | 'nul' | 'lone-surrogate' | 'forbidden-key';
  /** Where, as `items[3].value.name` (the root is `body`, or the prefix given). */
  field: string;
  /** In French, naming the field. */
  message: string;
}

function stringProblem(text: string): 'nul' | 'lone-surrogate' | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (LONE_SURROGATE.test(text)) return 'lone-surrogate';
  return undefined;
}

const join = (parent: string, key: string | number) =>
  typeof key === 'number' ? `${parent}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;

function describe(kind: JsonProblem['kind'], field: string, maxDepth: number): string {
  switch (kind) {
    case 'too-deep':
      return `${field} : JSON imbriqué sur plus de ${maxDepth} niveaux, refusé`;
    case 'nul':
      return `${field} : contient un caractère NUL (\\u0000), refusé`;
    case 'lone-surrogate':
      return `${field} : contient un demi-caractère UTF-16 isolé (surrogate), refusé`;
    case 'forbidden-key':
      return `${field} : champ non autorisé`;
    default: {
      const _exhaustive: never = kind;
      return _exhaustive;
    }
  }
}

/**
 * The first problem of a parsed JSON value, or undefined. Iterative (a hostile body cannot exhaust
 * the stack). `skipStrings` leaves the strings of some subtrees to a later, finer check (an import
 * batch judges its items one by one); depth and prototype keys are checked everywhere, since
 * class-transformer would turn a `__proto__` key into a prototype before any later check.
 */
export function findJsonProblem(
  value: unknown,
  options: { root?: string; maxDepth?: number; skipStrings?: (field: string) => boolean } = {},
): JsonProblem | undefined {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const stack: { value: unknown; field: string; depth: number; skipped: boolean }[] = [{ value, field: options.root ?? 'body', depth: 0, skipped: false }];
  const problem = (kind: JsonProblem['kind'], field: string): JsonProblem => ({ kind, field, message: describe(kind, field, maxDepth) });
  while (stack.length > 0) {
    const { value: v, field, depth, skipped } = stack.pop()!;
    if (typeof v === 'string') {
      const kind = skipped ? undefined : stringProblem(v);
      if (kind) return problem(kind, field);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return problem('too-deep', field);
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
    for (const [key, child] of entries) {
      const childField = join(field, key);
      const skip = skipped || (options.skipStrings?.(childField) ?? false);
      if (typeof key === 'string') {
        if (FORBIDDEN_KEYS.has(key)) return problem('forbidden-key', childField);
        const kind = skip ? undefined : stringProblem(key);
        if (kind)
          return problem(
            kind,
            `${field}[clé ${JSON.stringify(
              key
                .replace(/[\ud800-\udfff]/g, '?')
                .split('\u0000')
                .join('?'),
            )}]`,
          );
      }
      stack.push({ value: child, field: childField, depth: depth + 1, skipped: skip });
    }
  }
  return undefined;
}

import { findJsonProblem } from './json-safety';

describe('what a JSON body may not carry', () => {
  it('names the field of a NUL, a lone surrogate, a prototype key, or nesting past the bound', () => {
    expect(findJsonProblem({ a: { b: ['ok', 'x\u0000'] } })).toMatchObject({ kind: 'nul', field: 'body.a.b[1]' });
    expect(findJsonProblem({ 'odd key': '\ud800' })).toMatchObject({ kind: 'lone-surrogate', field: 'body["odd key"]' });
    expect(findJsonProblem({ s: '\udc00 alone' })).toMatchObject({ kind: 'lone-surrogate' });
    expect(findJsonProblem(JSON.parse('{"x":{"__proto__":{"admin":true}}}'))).toMatchObject({ kind: 'forbidden-key', field: 'body.x.__proto__' });
    expect(findJsonProblem({ constructor: 1 })).toMatchObject({ kind: 'forbidden-key' });
    expect(findJsonProblem(JSON.parse(`${'['.repeat(33)}${']'.repeat(33)}`))).toMatchObject({ kind: 'too-deep' });
    expect(findJsonProblem(JSON.parse(`${'['.repeat(32)}${']'.repeat(32)}`))).toBeUndefined();
    expect(findJsonProblem({ emoji: '😀 paired surrogates are fine', é: 'accents too' })).toBeUndefined();
  });

  it('leaves the strings of skipped subtrees to a later check, never their prototype keys', () => {
    const batch = { items: [{ a: 'x\u0000' }] };
    expect(findJsonProblem(batch, { skipStrings: (f) => /^body\.items\[\d+\]$/.test(f) })).toBeUndefined();
    expect(findJsonProblem(JSON.parse('{"items":[{"__proto__":{}}]}'), { skipStrings: (f) => /^body\.items\[\d+\]$/.test(f) })).toMatchObject({
      kind: 'forbidden-key',
    });
    expect(findJsonProblem(batch.items[0], { root: 'items[0]' })).toMatchObject({ field: 'items[0].a' });
  });
});

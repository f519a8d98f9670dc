import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_BUNDLE_SCHEMA, BUNDLE_FORMAT } from './bundle';

describe('the audit bundle’s JSON Schema', () => {
  it('is the one published in docs/audit-bundle.schema.json', () => {
    const published = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'audit-bundle.schema.json'), 'utf8')) as unknown;
    expect(published).toEqual(JSON.parse(JSON.stringify(AUDIT_BUNDLE_SCHEMA)));
  });
  it('names the format 2 and requires the signature, the log and its proofs', () => {
    expect(AUDIT_BUNDLE_SCHEMA.properties.format.const).toBe(BUNDLE_FORMAT);
    expect(AUDIT_BUNDLE_SCHEMA.required).toEqual(expect.arrayContaining(['signature', 'log', 'timeline', 'entitlement']));
    expect(AUDIT_BUNDLE_SCHEMA.properties.log.required).toEqual(expect.arrayContaining(['checkpoint', 'inclusion', 'vkey']));
  });
});

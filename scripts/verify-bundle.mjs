#!/usr/bin/env node
// Verifies an audit bundle offline, without this software: plain Node.js, no dependency.
//
//   node scripts/verify-bundle.mjs bundle.json
//
// For each stream, events must run from revision 0 without gaps; each event's prevHash must be
// the previous event's hash ("0" x 64 for revision 0); and each hash must equal
//   SHA-256( prevHash + canonicalJSON({eventId, streamId, revision, type, schemaVersion, data, metadata, prevHash}) )
// where canonicalJSON is RFC 8785 (JCS): object keys sorted by UTF-16 code units, no white space,
// ECMAScript number and string serialisation. Exit 0: every chain verifies; 2: the first broken
// link is printed; 1: the file is not a bundle.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const GENESIS = '0'.repeat(64);

function canonical(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}

function hashOf(e) {
  const record = { eventId: e.eventId, streamId: e.streamId, revision: e.revision, type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata, prevHash: e.prevHash };
  return createHash('sha256').update(e.prevHash + canonical(record), 'utf8').digest('hex');
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/verify-bundle.mjs <bundle.json>');
  process.exit(1);
}
let bundle;
try {
  bundle = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`cannot read ${file}: ${error.message}`);
  process.exit(1);
}
if (!Array.isArray(bundle.streams)) {
  console.error(`${file} is not an audit bundle (no "streams")`);
  process.exit(1);
}

let events = 0;
for (const stream of bundle.streams) {
  const list = [...stream.events].sort((a, b) => a.revision - b.revision);
  let prev = GENESIS;
  for (const [i, e] of list.entries()) {
    events += 1;
    const problem =
      e.streamId !== stream.streamId ? `belongs to ${e.streamId}`
      : e.revision !== i ? `revision ${e.revision} where ${i} was expected (an event is missing)`
      : e.prevHash !== prev ? `prevHash ${e.prevHash} does not link to the previous hash ${prev}`
      : hashOf(e) !== e.hash ? `hash ${e.hash} does not match its content (recomputed ${hashOf(e)})`
      : null;
    if (problem) {
      console.log(`BROKEN: ${stream.streamId} revision ${e.revision} (event ${e.eventId}): ${problem}`);
      process.exit(2);
    }
    prev = e.hash;
  }
}
console.log(`OK: ${events} events in ${bundle.streams.length} streams of ${bundle.rpps}/${bundle.year}, every hash chain verifies (known at ${bundle.knownAt})`);

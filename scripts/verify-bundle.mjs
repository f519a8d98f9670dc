#!/usr/bin/env node
// Verifies an audit bundle offline, without this software: plain Node.js, no dependency.
//
//   node scripts/verify-bundle.mjs bundle.json [--vkey <log vkey>] [--witness <witness vkey>]… [--accept-format-1]
//
// --vkey: the caisse's published log key (GET /v1/log/public-key, `vkey`); without it the key the
// bundle carries is used, which proves integrity but not who signed (a warning says so).
// --witness: a witness key you trust; its cosignature of the checkpoint must then verify.
//
// Checked, each failure printed as `BROKEN: <kind> <place>: <what>` (all of them, not the first):
// 1. chain: per stream, revisions from 0 without gaps; prevHash = the previous hash ("0" x 64 at
//    revision 0); hash = SHA-256( prevHash + canonicalJSON({eventId, streamId, revision, type,
//    schemaVersion, data, metadata, prevHash}) ), canonicalJSON being RFC 8785 (JCS).
// 2. leaf (format 2): each event's leaf is canonicalJSON({position, streamId, revision, type,
//    recordedAt, effectiveAt, hash, dataSha256 = SHA-256(canonicalJSON(data))}).
// 3. inclusion: SHA-256(0x00 ‖ leaf) with its audit path gives the checkpoint's root (RFC 9162 §2.1.3.2).
// 4. checkpoint: a C2SP signed note (origin, size, base64 root), signed by the log's Ed25519 key;
//    cosignatures (C2SP tlog-cosignature/v1) checked for the witness keys given or carried.
// 5. signature: Ed25519 by the log's key over canonicalJSON(the bundle without "signature").
// Exit 0: everything verifies; 2: something is broken (listed); 1: the file is not a bundle.
//
// The bundle's shape is docs/audit-bundle.schema.json (served at /v1/schemas/audit-bundle.json), the
// AuditBundle type of apps/api/src/audit/bundle.ts. Format 1 bundles (unsigned, no proofs) are refused
// unless --accept-format-1 is given, and always when they carry format 2's `log` or `signature`: a
// format 2 bundle edited to claim format 1 would otherwise be checked with the weaker rules
// (chains only) and its edited entitlement or proofs pass unseen.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const GENESIS = '0'.repeat(64);
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function canonical(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
}
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function hashOf(e) {
  const record = {
    eventId: e.eventId,
    streamId: e.streamId,
    revision: e.revision,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
    prevHash: e.prevHash,
  };
  return createHash('sha256')
    .update(e.prevHash + canonical(record), 'utf8')
    .digest('hex');
}

function leafOf(e) {
  return canonical({
    position: Number(e.position),
    streamId: e.streamId,
    revision: e.revision,
    type: e.type,
    recordedAt: e.metadata?.recordedAt,
    effectiveAt: e.metadata?.effectiveAt,
    hash: e.hash,
    dataSha256: sha256(Buffer.from(canonical(e.data), 'utf8')).toString('hex'),
  });
}

const leafHash = (leaf) => sha256(Buffer.from([0]), leaf);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);

/** RFC 9162 §2.1.3.2 */
function rootFromInclusion(index, size, hash, proof) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = hash;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else r = nodeHash(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** `<name>+<key id hex>+<base64(type ‖ 32-byte key)>`, the id checked. */
function parseVkey(vkey) {
  const [name, id, ...rest] = String(vkey).trim().split('+');
  const raw = Buffer.from(rest.join('+'), 'base64');
  if (!name || !id || raw.length !== 33) throw new Error(`not a verifier key: ${vkey}`);
  const type = raw[0];
  const publicKey = raw.subarray(1);
  const keyId = sha256(Buffer.from(`${name}\n`), Buffer.from([type]), publicKey).subarray(0, 4);
  if (keyId.toString('hex') !== id) throw new Error(`the key id of ${name} does not match its key`);
  return { name, type, keyId, key: createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' }) };
}

function splitNote(note) {
  const at = note.lastIndexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) throw new Error('not a signed note (body, blank line, signature lines)');
  const body = note.slice(0, at + 1);
  const lines = note
    .slice(at + 2, -1)
    .split('\n')
    .map((line) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!m) throw new Error(`malformed signature line: ${line}`);
      const raw = Buffer.from(m[2], 'base64');
      return { name: m[1], keyId: raw.subarray(0, 4), sig: raw.subarray(4) };
    });
  return { body, lines };
}

function checkLine(body, line, k) {
  if (k.type === 0x01) return line.sig.length === 64 && verify(null, Buffer.from(body, 'utf8'), k.key, line.sig);
  if (k.type === 0x04 && line.sig.length === 72) {
    const time = line.sig.readBigUInt64BE(0);
    return verify(null, Buffer.from(`cosignature/v1\ntime ${time}\n${body}`, 'utf8'), k.key, line.sig.subarray(8));
  }
  return false;
}

// ---- arguments
const args = process.argv.slice(2);
let file;
let trustedVkey;
const trustedWitnesses = [];
let acceptFormat1 = false;
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--vkey') trustedVkey = args[++i];
  else if (args[i] === '--accept-format-1') acceptFormat1 = true;
  else if (args[i] === '--witness') trustedWitnesses.push(args[++i]);
  else file = args[i];
}
if (!file) {
  console.error('usage: node scripts/verify-bundle.mjs <bundle.json> [--vkey <log vkey>] [--witness <vkey>]… [--accept-format-1]');
  process.exit(1);
}
let bundle;
try {
  bundle = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`cannot read ${file}: ${error.message}`);
  process.exit(1);
}
if (!bundle || !Array.isArray(bundle.streams)) {
  console.error(`${file} is not an audit bundle (no "streams")`);
  process.exit(1);
}
if (!['forfait-structure-audit-bundle/1', 'forfait-structure-audit-bundle/2'].includes(bundle.format)) {
  console.error(`${file}: unknown bundle format ${JSON.stringify(bundle.format)} (this script knows forfait-structure-audit-bundle/1 and /2)`);
  process.exit(1);
}

const problems = [];
const notes = [];
const broken = (kind, place, what) => problems.push(`BROKEN: ${kind} ${place}: ${what}`);

// A downgrade: format 1 has neither proofs nor signature, so a bundle claiming it is checked for its
// chains only. The caisse issues format 2; one that says 1 yet carries format 2's parts was edited.
if (bundle.format === 'forfait-structure-audit-bundle/1') {
  const v2Parts = ['log', 'signature'].filter((k) => k in bundle);
  if (v2Parts.length > 0)
    broken(
      'format',
      'format',
      `the bundle claims ${bundle.format} but carries ${v2Parts.join(' and ')} of format 2: its format was downgraded to escape the proofs and the signature`,
    );
  else if (!acceptFormat1)
    broken(
      'format',
      'format',
      `${bundle.format} is unsigned and carries no inclusion proof; the caisse issues forfait-structure-audit-bundle/2 (pass --accept-format-1 to check an old bundle's chains only)`,
    );
  else if (trustedVkey || trustedWitnesses.length > 0)
    broken('format', 'format', `${bundle.format} carries no checkpoint nor signature to check with --vkey or --witness`);
}

// 1. the hash chains
let events = 0;
const byId = new Map();
for (const stream of bundle.streams) {
  const list = [...(stream.events ?? [])].sort((a, b) => a.revision - b.revision);
  let prev = GENESIS;
  for (const [i, e] of list.entries()) {
    events += 1;
    byId.set(e.eventId, e);
    let recomputed;
    try {
      recomputed = hashOf(e);
    } catch (error) {
      recomputed = `(${error.message})`;
    }
    const problem =
      e.streamId !== stream.streamId
        ? `belongs to ${e.streamId}`
        : e.revision !== i
          ? `revision ${e.revision} where ${i} was expected (an event is missing)`
          : e.prevHash !== prev
            ? `prevHash ${e.prevHash} does not link to the previous hash ${prev}`
            : recomputed !== e.hash
              ? `hash ${e.hash} does not match its content (recomputed ${recomputed})`
              : null;
    // The first line keeps the format of format 1: `BROKEN: <stream> revision <n> (event <id>): …`.
    if (problem) problems.push(`BROKEN: ${stream.streamId} revision ${e.revision} (event ${e.eventId}): ${problem}`);
    prev = e.hash;
  }
}

const v2 = bundle.format === 'forfait-structure-audit-bundle/2';
let logKey;
if (v2) {
  const log = bundle.log ?? {};
  // The log's key: the one given, which must be the bundle's; else the bundle's own.
  try {
    logKey = parseVkey(trustedVkey ?? log.vkey);
    if (trustedVkey && log.vkey !== trustedVkey) broken('key', 'log.vkey', `the bundle names the key ${log.vkey}, not the caisse's ${trustedVkey}`);
    if (!trustedVkey) notes.push(`NOTE: checked with the key the bundle carries (${log.vkey}); pass --vkey with the caisse's published key to know who signed`);
  } catch (error) {
    broken('key', 'log.vkey', error.message);
  }

  // 4. the checkpoint
  let checkpoint;
  if (events === 0 && log.status === 'included') {
    notes.push('NOTE: the bundle has no event, so no inclusion proof');
  } else if (log.status !== 'included' || !log.checkpoint) {
    broken('log', 'log.status', `no inclusion proofs in this bundle (${log.status ?? 'absent'}: ${log.reason ?? 'no reason given'})`);
  } else {
    try {
      const { body, lines } = splitNote(log.checkpoint.note);
      const [origin, size, root] = body.split('\n');
      checkpoint = { origin, size: Number(size), root: Buffer.from(root ?? '', 'base64') };
      if (!/^(0|[1-9][0-9]*)$/.test(size ?? '') || checkpoint.root.length !== 32)
        broken('checkpoint', 'log.checkpoint.note', 'the body is not origin, size, base64 root');
      if (origin !== log.origin) broken('checkpoint', 'log.checkpoint.note', `origin ${origin} is not the log's ${log.origin}`);
      if (checkpoint.size !== log.checkpoint.treeSize)
        broken('checkpoint', 'log.checkpoint.treeSize', `${log.checkpoint.treeSize} differs from the signed size ${checkpoint.size}`);
      if (root !== log.checkpoint.rootHash) broken('checkpoint', 'log.checkpoint.rootHash', `${log.checkpoint.rootHash} differs from the signed root ${root}`);
      if (logKey) {
        const own = lines.find((l) => l.name === logKey.name && l.keyId.equals(logKey.keyId));
        if (!own) broken('checkpoint', 'log.checkpoint.note', `no signature line of the log's key ${logKey.name}`);
        else if (!checkLine(body, own, logKey))
          broken('checkpoint', 'log.checkpoint.note', `the log's signature of the checkpoint (size ${size}) does not verify`);
      }
      const witnessKeys = [...new Set([...trustedWitnesses, ...(log.witnesses ?? [])])];
      let cosigned = 0;
      for (const w of witnessKeys) {
        let k;
        try {
          k = parseVkey(w);
        } catch (error) {
          broken('cosignature', 'log.witnesses', error.message);
          continue;
        }
        const line = lines.find((l) => l.name === k.name && l.keyId.equals(k.keyId));
        if (!line) {
          if (trustedWitnesses.includes(w)) broken('cosignature', 'log.checkpoint.note', `no cosignature by the witness ${k.name}`);
          continue;
        }
        if (!checkLine(body, line, k)) broken('cosignature', 'log.checkpoint.note', `the cosignature of ${k.name} does not verify`);
        else cosigned += 1;
      }
      notes.push(`checkpoint ${origin} size ${size}, ${cosigned} witness cosignature(s) verified`);
    } catch (error) {
      broken('checkpoint', 'log.checkpoint.note', error.message);
    }
  }

  // 2 and 3. every event's leaf and inclusion proof
  if (checkpoint) {
    const proofs = new Map((log.inclusion ?? []).map((p) => [p.eventId, p]));
    for (const e of byId.values()) {
      const p = proofs.get(e.eventId);
      const place = `${e.streamId} revision ${e.revision} (event ${e.eventId})`;
      if (!p) {
        broken('inclusion', place, 'no inclusion proof for this event');
        continue;
      }
      const leaf = Buffer.from(p.leaf ?? '', 'base64');
      let expected;
      try {
        expected = leafOf(e);
      } catch (error) {
        expected = `(${error.message})`;
      }
      if (leaf.toString('utf8') !== expected)
        broken('leaf', place, `the leaf at index ${p.leafIndex} does not commit to this event (leaf ${leaf.toString('utf8')}, event gives ${expected})`);
      if (String(p.position) !== String(e.position)) broken('leaf', place, `proof for position ${p.position}, event at ${e.position}`);
      const root = rootFromInclusion(
        p.leafIndex,
        checkpoint.size,
        leafHash(leaf),
        (p.proof ?? []).map((h) => Buffer.from(h, 'base64')),
      );
      if (!root || !root.equals(checkpoint.root))
        broken('inclusion', place, `the audit path of leaf ${p.leafIndex} does not lead to the checkpoint's root (tree size ${checkpoint.size})`);
    }
    for (const id of proofs.keys()) if (!byId.has(id)) broken('inclusion', `log.inclusion (event ${id})`, 'a proof for an event the bundle does not carry');
  }

  // 5. the bundle's signature
  const sig = bundle.signature;
  if (!sig || typeof sig.value !== 'string') broken('signature', 'signature', 'the bundle is not signed');
  else if (logKey) {
    const { signature: _omitted, ...unsigned } = bundle;
    const value = Buffer.from(sig.value, 'base64');
    const ok =
      sig.keyName === logKey.name &&
      sig.keyId === logKey.keyId.toString('hex') &&
      value.length === 64 &&
      verify(null, Buffer.from(canonical(unsigned), 'utf8'), logKey.key, value);
    if (!ok)
      broken(
        'signature',
        'signature',
        `the caisse's Ed25519 signature over the bundle does not verify with ${logKey.name}+${logKey.keyId.toString('hex')}: something outside the events (entitlement, explanation, timeline, controls, proofs…) or the signature was changed`,
      );
  }
} else {
  notes.push(`NOTE: format ${bundle.format}: hash chains only (no proofs, no signature)`);
}

for (const n of notes) console.error(n);
if (problems.length > 0) {
  for (const p of problems) console.log(p);
  console.log(`${problems.length} problem(s) in ${file}`);
  process.exit(2);
}
console.log(
  `OK: ${events} events in ${bundle.streams.length} streams of ${bundle.rpps}/${bundle.year}, every hash chain verifies${v2 ? ', every event is in the signed checkpoint, the bundle signature verifies' : ''} (known at ${bundle.knownAt})`,
);
console.log(`SHA-256 of the bundle (RFC 8785 JSON, as printed on the PDF): ${sha256(Buffer.from(canonical(bundle), 'utf8')).toString('hex')}`);

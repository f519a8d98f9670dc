import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed-note (Ed25519, type 0x01), tlog-checkpoint and tlog-cosignature/v1 (type 0x04), with
 * node:crypto alone. Key ids are SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]; signature lines are
 * `— <name> base64(key id ‖ signature)`.
 */
export const NOTE_ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const DASH = '\u2014 ';

export interface NoteSigner {
  name: string;
  type: typeof NOTE_ED25519 | typeof COSIGNATURE_V1;
  keyId: Buffer;
  publicKey: Buffer;
  privateKey: KeyObject;
}

export interface NoteVerifier {
  name: string;
  type: number;
  keyId: Buffer;
  publicKey: Buffer;
}

export class NoteError extends Error {
  readonly code = 'NOTE_INVALID';
}

export function keyIdOf(name: string, type: number, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([type]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

function checkName(name: string): void {
  if (!name || /[\s+]/.test(name)) throw new NoteError(`key name "${name}" must be non-empty, without spaces or "+"`);
}

function signerOf(name: string, type: NoteSigner['type'], seed: Buffer): NoteSigner {
  checkName(name);
  if (seed.length !== 32) throw new NoteError('an Ed25519 private key is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  return { name, type, keyId: keyIdOf(name, type, publicKey), publicKey, privateKey };
}

/** A fresh key, as Go's note.GenerateKey writes it: `PRIVATE+KEY+<name>+<id hex>+<base64(type ‖ seed)>`. */
export function generateSignerKey(name: string, type: NoteSigner['type'] = NOTE_ED25519): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length);
  const signer = signerOf(name, type, seed);
  return `PRIVATE+KEY+${name}+${signer.keyId.toString('hex')}+${Buffer.concat([Buffer.from([type]), seed]).toString('base64')}`;
}

/** Go's strings.SplitN: base64 has its own "+". */
function splitN(text: string, n: number): string[] {
  const parts = text.split('+');
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join('+')];
}

export function parseSignerKey(text: string): NoteSigner {
  const parts = splitN(text.trim(), 5);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw new NoteError('a signer key reads PRIVATE+KEY+<name>+<id>+<base64>');
  const raw = Buffer.from(parts[4]!, 'base64');
  const type = raw[0];
  if (type !== NOTE_ED25519 && type !== COSIGNATURE_V1) throw new NoteError(`unsupported key type 0x${type?.toString(16)}`);
  const signer = signerOf(parts[2]!, type, raw.subarray(1));
  if (signer.keyId.toString('hex') !== parts[3]) throw new NoteError('the key id does not match the key');
  return signer;
}

/** `<name>+<id hex>+<base64(type ‖ public key)>` */
export function vkeyOf(signer: NoteVerifier): string {
  return `${signer.name}+${signer.keyId.toString('hex')}+${Buffer.concat([Buffer.from([signer.type]), signer.publicKey]).toString('base64')}`;
}

export function parseVkey(vkey: string): NoteVerifier {
  const parts = splitN(vkey.trim(), 3);
  if (parts.length !== 3) throw new NoteError('a verifier key reads <name>+<id>+<base64>');
  const [name, id, b64] = parts as [string, string, string];
  checkName(name);
  const raw = Buffer.from(b64, 'base64');
  const type = raw[0]!;
  const publicKey = raw.subarray(1);
  if ((type !== NOTE_ED25519 && type !== COSIGNATURE_V1) || publicKey.length !== 32) throw new NoteError('only Ed25519 verifier keys are supported');
  const keyId = keyIdOf(name, type, publicKey);
  if (keyId.toString('hex') !== id) throw new NoteError('the key id does not match the key');
  return { name, type, keyId, publicKey };
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

/** The note's signature line by `signer` (body: the text up to and including its last newline). */
export function signNote(body: string, signer: NoteSigner): string {
  if (signer.type !== NOTE_ED25519) throw new NoteError('a note is signed with a 0x01 key');
  const sig = sign(null, Buffer.from(body, 'utf8'), signer.privateKey);
  return `${DASH}${signer.name} ${Buffer.concat([signer.keyId, sig]).toString('base64')}\n`;
}

/** The message a cosignature/v1 signs. */
function cosignedMessage(body: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${body}`, 'utf8');
}

export function cosignNote(body: string, signer: NoteSigner, timestamp: number): string {
  if (signer.type !== COSIGNATURE_V1) throw new NoteError('a cosignature is made with a 0x04 key');
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(timestamp));
  const sig = sign(null, cosignedMessage(body, timestamp), signer.privateKey);
  return `${DASH}${signer.name} ${Buffer.concat([signer.keyId, ts, sig]).toString('base64')}\n`;
}

export interface SignatureLine {
  name: string;
  keyId: Buffer;
  /** The bytes after the key id. */
  signature: Buffer;
  line: string;
}

/** Splits a signed note into its body and its signature lines. */
export function splitNote(note: string): { body: string; signatures: SignatureLine[] } {
  const at = note.lastIndexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) throw new NoteError('a signed note is a body, a blank line and signature lines, each ending in a newline');
  const body = note.slice(0, at + 1);
  const signatures = note
    .slice(at + 2, -1)
    .split('\n')
    .map((line) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!m) throw new NoteError(`malformed signature line: ${line}`);
      const raw = Buffer.from(m[2]!, 'base64');
      if (raw.length < 5) throw new NoteError(`signature too short: ${line}`);
      return { name: m[1]!, keyId: raw.subarray(0, 4), signature: raw.subarray(4), line: `${line}\n` };
    });
  return { body, signatures };
}

/** Whether `line` is a valid signature (0x01) or cosignature (0x04) of `body` by `key`; a cosignature's time is returned. */
export function verifySignatureLine(body: string, line: SignatureLine, key: NoteVerifier): { ok: boolean; timestamp?: number } {
  if (line.name !== key.name || !line.keyId.equals(key.keyId)) return { ok: false };
  const pub = publicKeyObject(key.publicKey);
  if (key.type === NOTE_ED25519) return { ok: line.signature.length === 64 && verify(null, Buffer.from(body, 'utf8'), pub, line.signature) };
  if (line.signature.length !== 72) return { ok: false };
  const timestamp = Number(line.signature.readBigUInt64BE(0));
  return { ok: verify(null, cosignedMessage(body, timestamp), pub, line.signature.subarray(8)), timestamp };
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

/** The C2SP tlog-checkpoint body: origin, size in decimal, base64 root, each line ending in a newline. */
export function checkpointBody(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.rootHash.toString('base64')}\n`;
}

export function parseCheckpointBody(body: string): Checkpoint {
  const lines = body.split('\n');
  const [origin, size, root] = lines;
  if (!origin || !size || !/^(0|[1-9][0-9]*)$/.test(size) || root === undefined) throw new NoteError('a checkpoint reads origin, size, root hash');
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) throw new NoteError('the root hash is not 32 bytes of base64');
  return { origin, size: Number(size), rootHash };
}

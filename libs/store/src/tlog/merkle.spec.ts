import { createHash, createPublicKey, verify } from 'node:crypto';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  appendLeaves,
  consistencyRanges,
  decompose,
  inclusionRanges,
  leafHash,
  nodeHash,
  rangeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type NodeKey,
} from './merkle';
import {
  COSIGNATURE_V1,
  checkpointBody,
  cosignNote,
  generateSignerKey,
  parseCheckpointBody,
  parseSignerKey,
  parseVkey,
  signNote,
  splitNote,
  verifySignatureLine,
  vkeyOf,
} from './note';

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** RFC 6962 §2.1 MTH, straight from the definition. */
function mth(leaves: Buffer[]): Hash {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return sha(Buffer.from([0]), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
/** RFC 6962 §2.1.1 PATH(m, D[n]). */
function path(m: number, leaves: Buffer[]): Hash[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
/** RFC 6962 §2.1.2 SUBPROOF(m, D[n], b). */
function subproof(m: number, leaves: Buffer[], b: boolean): Hash[] {
  if (m === leaves.length) return b ? [] : [mth(leaves)];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m <= k ? [...subproof(m, leaves.slice(0, k), b), mth(leaves.slice(k))] : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

/** A tree kept as its complete subtrees, built leaf by leaf as the sealer does. */
function stored(leaves: Buffer[], batch = 3): Map<string, Hash> {
  const nodes = new Map<string, Hash>();
  for (let size = 0; size < leaves.length; size += batch) {
    const frontier = new Map(decompose(0, size).map((k) => [`${k.level}:${k.index}`, nodes.get(`${k.level}:${k.index}`)!]));
    for (const n of appendLeaves(
      size,
      frontier,
      leaves.slice(size, size + batch).map((l) => leafHash(l)),
    ))
      nodes.set(`${n.level}:${n.index}`, n.hash);
  }
  return nodes;
}
const reader = (nodes: Map<string, Hash>) => (k: NodeKey) => nodes.get(`${k.level}:${k.index}`)!;

// The certificate-transparency test inputs (RFC 6962 reference implementation) and their roots.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('the RFC 6962 Merkle tree kept as complete subtrees', () => {
  it('hashes the empty tree as SHA-256 of nothing', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(rangeHash(0, 0, () => Buffer.alloc(0)).equals(EMPTY_ROOT)).toBe(true);
  });

  it('gives the reference roots of the certificate-transparency test vectors, size 1 to 8', () => {
    const nodes = stored(CT_LEAVES);
    CT_ROOTS.forEach((root, i) => {
      expect(mth(CT_LEAVES.slice(0, i + 1)).toString('hex')).toBe(root);
      expect(rangeHash(0, i + 1, reader(nodes)).toString('hex')).toBe(root);
    });
  });

  it('hashes leaves with 0x00 and nodes with 0x01', () => {
    expect(leafHash(Buffer.from('x')).equals(sha(Buffer.from([0]), Buffer.from('x')))).toBe(true);
    const a = leafHash('a');
    const b = leafHash('b');
    expect(nodeHash(a, b).equals(sha(Buffer.from([1]), a, b))).toBe(true);
  });

  it('serves roots, audit paths and consistency proofs equal to the definition, which verify, for every size up to 40', () => {
    const leaves = Array.from({ length: 40 }, (_, i) => Buffer.from(`leaf ${i}`));
    const nodes = stored(leaves, 7);
    for (let n = 1; n <= leaves.length; n += 1) {
      const root = rangeHash(0, n, reader(nodes));
      expect(root.equals(mth(leaves.slice(0, n)))).toBe(true);
      for (let m = 0; m < n; m += 1) {
        const proof = inclusionRanges(m, n).map(([lo, hi]) => rangeHash(lo, hi, reader(nodes)));
        expect(proof.map((h) => h.toString('hex'))).toEqual(path(m, leaves.slice(0, n)).map((h) => h.toString('hex')));
        expect(verifyInclusion(m, n, leafHash(leaves[m]!), proof, root)).toBe(true);
        expect(verifyInclusion(m, n, leafHash(Buffer.from('other')), proof, root)).toBe(false);
        if (m > 0) {
          const c = consistencyRanges(m, n).map(([lo, hi]) => rangeHash(lo, hi, reader(nodes)));
          expect(c.map((h) => h.toString('hex'))).toEqual(subproof(m, leaves.slice(0, n), true).map((h) => h.toString('hex')));
          const old = mth(leaves.slice(0, m));
          expect(verifyConsistency(m, n, old, root, c)).toBe(true);
          expect(verifyConsistency(m, n, leafHash('forged'), root, c)).toBe(false);
        }
      }
    }
  });

  it('refuses a consistency proof between two trees that differ in an old leaf', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 0, max: 29 }), (n, changed) => {
        const m = Math.max(1, Math.min(n - 1, changed + 1));
        const honest = Array.from({ length: n }, (_, i) => Buffer.from(`e${i}`));
        const forged = honest.map((l, i) => (i === changed % m ? Buffer.from('forged') : l));
        const proof = subproof(m, forged, true);
        return !verifyConsistency(m, n, mth(honest.slice(0, m)), mth(forged), proof);
      }),
    );
  });
});

describe('signed notes and cosignatures (C2SP signed-note, tlog-checkpoint, tlog-cosignature)', () => {
  const signer = parseSignerKey(generateSignerKey('caisse.example/log'));
  const body = checkpointBody({ origin: 'caisse.example/log', size: 3, rootHash: Buffer.from(CT_ROOTS[2]!, 'hex') });

  it('writes the checkpoint body as origin, size and base64 root, each on its line', () => {
    expect(body).toBe('caisse.example/log\n3\nrra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=\n');
    expect(parseCheckpointBody(body).rootHash.toString('hex')).toBe(CT_ROOTS[2]);
  });

  it('signs a note that node:crypto verifies with the published verifier key alone', () => {
    const note = `${body}\n${signNote(body, signer)}`;
    const vkey = vkeyOf(signer);
    // Only the first two "+" separate: the base64 key may hold "+" itself.
    const [name, id] = vkey.split('+', 2) as [string, string];
    const b64 = vkey.slice(name.length + id.length + 2);
    expect(name).toBe('caisse.example/log');
    const raw = Buffer.from(b64, 'base64');
    expect(raw[0]).toBe(0x01);
    expect(id).toBe(
      sha(Buffer.from(`${name}\n`), raw)
        .subarray(0, 4)
        .toString('hex'),
    );
    const line = note.split('\n\n')[1]!;
    const m = /^\u2014 (\S+) (\S+)\n$/.exec(line)!;
    expect(m[1]).toBe(name);
    const sig = Buffer.from(m[2]!, 'base64');
    expect(sig.subarray(0, 4).toString('hex')).toBe(id);
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(body), pub, sig.subarray(4))).toBe(true);
    expect(verify(null, Buffer.from(body.replace('\n3\n', '\n4\n')), pub, sig.subarray(4))).toBe(false);
  });

  it('cosigns with a 0x04 key over "cosignature/v1", the time and the body', () => {
    const witness = parseSignerKey(generateSignerKey('witness.example/w1', COSIGNATURE_V1));
    const line = cosignNote(body, witness, 1_700_000_000);
    const note = `${body}\n${signNote(body, signer)}${line}`;
    const { body: parsedBody, signatures } = splitNote(note);
    expect(parsedBody).toBe(body);
    const key = parseVkey(vkeyOf(witness));
    expect(verifySignatureLine(body, signatures[1]!, key)).toEqual({ ok: true, timestamp: 1_700_000_000 });
    expect(verifySignatureLine(body.replace('3', '2'), signatures[1]!, key).ok).toBe(false);
    const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    expect(raw.length).toBe(4 + 8 + 64);
    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]), format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(`cosignature/v1\ntime 1700000000\n${body}`), pub, raw.subarray(12))).toBe(true);
  });
});

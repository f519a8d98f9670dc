import { createHash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, over a tree kept as its complete subtrees: the node
 * (level, index) is the hash of the 2^level leaves from index·2^level. Every root and proof of a
 * size up to the sealed one is a function of O(log² n) such nodes, never of every leaf.
 */
export type Hash = Buffer;

export const EMPTY_ROOT: Hash = createHash('sha256').digest();

export function leafHash(leaf: Buffer | string): Hash {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(leaf)
    .digest();
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(left)
    .update(right)
    .digest();
}

export interface NodeKey {
  level: number;
  index: number;
}

/** [lo, hi): a range of leaves whose MTH a proof needs. */
type Range = readonly [number, number];

/** The largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The complete aligned subtrees that make up [lo, hi), left to right (lo aligned as in the RFC recursion). */
export function decompose(lo: number, hi: number): NodeKey[] {
  const keys: NodeKey[] = [];
  while (lo < hi) {
    let level = 0;
    while (lo % 2 ** (level + 1) === 0 && lo + 2 ** (level + 1) <= hi) level += 1;
    keys.push({ level, index: lo / 2 ** level });
    lo += 2 ** level;
  }
  return keys;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]) as ranges, the leaf's neighbour first. */
function pathRanges(m: number, lo: number, hi: number): Range[] {
  if (hi - lo <= 1) return [];
  const k = split(hi - lo);
  return m < k ? [...pathRanges(m, lo, lo + k), [lo + k, hi]] : [...pathRanges(m - k, lo + k, hi), [lo, lo + k]];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b) as ranges. */
function subproofRanges(m: number, lo: number, hi: number, b: boolean): Range[] {
  const n = hi - lo;
  if (m === n) return b ? [] : [[lo, hi]];
  const k = split(n);
  return m <= k ? [...subproofRanges(m, lo, lo + k, b), [lo + k, hi]] : [...subproofRanges(m - k, lo + k, hi, false), [lo, lo + k]];
}

export function inclusionRanges(index: number, size: number): Range[] {
  if (index < 0 || index >= size) throw new RangeError(`leaf ${index} outside a tree of ${size}`);
  return pathRanges(index, 0, size);
}

export function consistencyRanges(from: number, to: number): Range[] {
  if (from < 0 || from > to) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  return from === 0 || from === to ? [] : subproofRanges(from, 0, to, true);
}

/** The hash of [lo, hi) from its complete subtrees (folded from the right, as MTH recurses). */
export function rangeHash(lo: number, hi: number, node: (key: NodeKey) => Hash): Hash {
  if (hi === lo) return EMPTY_ROOT;
  const hashes = decompose(lo, hi).map(node);
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i -= 1) acc = nodeHash(hashes[i]!, acc);
  return acc;
}

/** Every node key a set of ranges needs, for one read. */
export function nodesOf(ranges: readonly Range[]): NodeKey[] {
  const seen = new Map<string, NodeKey>();
  for (const [lo, hi] of ranges) for (const key of decompose(lo, hi)) seen.set(`${key.level}:${key.index}`, key);
  return [...seen.values()];
}

/**
 * The nodes that appending leaves at `size`, `size+1`… completes, given the complete subtrees of
 * [0, size) (`frontier`, from decompose(0, size)). Returns every new node, level 0 included.
 */
export function appendLeaves(size: number, frontier: Map<string, Hash>, leafHashes: readonly Hash[]): { level: number; index: number; hash: Hash }[] {
  const out: { level: number; index: number; hash: Hash }[] = [];
  const known = new Map(frontier);
  for (let i = 0; i < leafHashes.length; i += 1) {
    let index = size + i;
    let level = 0;
    let hash = leafHashes[i]!;
    out.push({ level, index, hash });
    known.set(`${level}:${index}`, hash);
    while (index % 2 === 1) {
      const left = known.get(`${level}:${index - 1}`);
      if (!left) throw new Error(`Merkle frontier lacks node ${level}:${index - 1}`);
      known.delete(`${level}:${index - 1}`);
      known.delete(`${level}:${index}`);
      hash = nodeHash(left, hash);
      level += 1;
      index = (index - 1) / 2;
      out.push({ level, index, hash });
      known.set(`${level}:${index}`, hash);
    }
  }
  return out;
}

/** RFC 9162 §2.1.3.2: does `proof` prove the leaf `hash` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, hash: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = hash;
  for (const p of proof) {
    if (sn === 0) return false;
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
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: does `proof` show that the tree (from, fromRoot) is a prefix of (to, toRoot)? */
export function verifyConsistency(from: number, to: number, fromRoot: Hash, toRoot: Hash, proof: readonly Hash[]): boolean {
  if (from > to) return false;
  if (from === to) return proof.length === 0 && fromRoot.equals(toRoot);
  if (from === 0) return proof.length === 0;
  const path = [...proof];
  // A power-of-two first tree is its own first node.
  if ((from & (from - 1)) === 0) path.unshift(fromRoot);
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  if (!fr || !sr) return false;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else sr = nodeHash(sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(fromRoot) && sr.equals(toRoot);
}

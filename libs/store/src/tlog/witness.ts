import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { EMPTY_ROOT, appendLeaves, decompose, leafHash, rangeHash, verifyConsistency, type Hash } from './merkle';
import { COSIGNATURE_V1, cosignNote, parseCheckpointBody, parseSignerKey, parseVkey, splitNote, verifySignatureLine } from './note';

export interface WitnessState {
  origin: string;
  vkey: string;
  size: number;
  rootHash: string;
  checkpoint: string;
  /** The complete subtrees of [0, size) (decompose(0, size)), "level:index" → base64: the tree rebuilt from here on. */
  frontier?: Record<string, string>;
  /** The hash of the last leaf verified (base64): it must still be served as it was. */
  lastLeafHash?: string;
}

/** Why a witness refuses a checkpoint (one per failure, with its French detail). */
export type WitnessFailureReason =
  | 'key-invalid'
  | 'signature-invalid'
  | 'origin-changed'
  | 'size-decreased'
  | 'root-changed'
  | 'consistency-invalid'
  | 'leaf-missing'
  | 'leaf-changed'
  | 'leaf-index-gap'
  | 'tree-mismatch'
  | 'cosignature-refused';

export interface WitnessFailure {
  reason: WitnessFailureReason;
  detail: string;
}

export interface WitnessResult {
  ok: boolean;
  /** French, one line per finding. */
  report: string[];
  /** Every failure with its reason (empty when ok). */
  failures: WitnessFailure[];
  size?: number;
}

const PAGE = 1000;

/**
 * A witness (C2SP tlog-cosignature): fetches the latest checkpoint, checks the log's signature
 * with the key it pinned on first contact, checks consistency from the last checkpoint it
 * verified, rebuilds the tree from the leaves the log serves beyond the last one it verified (and
 * sees that one still served as it was), cosigns, posts the cosignature back, and keeps the new
 * checkpoint and the tree's frontier as its state.
 */
export async function runWitness(options: { url: string; keyText: string; statePath: string; token?: string; now?: () => number }): Promise<WitnessResult> {
  const refuse = (failures: WitnessFailure[]): WitnessResult => ({
    ok: false,
    report: failures.map((f) => `INCOHÉRENT (${f.reason}) : ${f.detail}`),
    failures,
  });
  const signer = parseSignerKey(options.keyText);
  if (signer.type !== COSIGNATURE_V1)
    return {
      ok: false,
      report: ['la clé du témoin doit être une clé cosignature/v1 (type 0x04)'],
      failures: [{ reason: 'key-invalid', detail: 'la clé du témoin doit être une clé cosignature/v1 (type 0x04)' }],
    };
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const get = async (path: string) => {
    const res = await fetch(`${options.url}${path}`, { headers });
    if (!res.ok) throw new Error(`${path} : HTTP ${res.status} ${await res.text()}`);
    return res;
  };
  let state: WitnessState | undefined;
  try {
    state = JSON.parse(readFileSync(options.statePath, 'utf8')) as WitnessState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const vkey = state?.vkey ?? ((await (await get('/v1/log/public-key')).json()) as { vkey: string }).vkey;
  const key = parseVkey(vkey);
  const note = await (await get('/v1/log/checkpoint')).text();
  const { body, signatures } = splitNote(note);
  const own = signatures.find((s) => s.name === key.name && s.keyId.equals(key.keyId));
  if (!own || !verifySignatureLine(body, own, key).ok)
    return refuse([{ reason: 'signature-invalid', detail: `le point de contrôle servi ne porte pas de signature valide de la clé ${vkey}` }]);
  const checkpoint = parseCheckpointBody(body);
  if (state && checkpoint.origin !== state.origin)
    return refuse([{ reason: 'origin-changed', detail: `origine ${checkpoint.origin}, le témoin suit ${state.origin}` }]);
  if (state) {
    const oldRoot = Buffer.from(state.rootHash, 'base64');
    if (checkpoint.size < state.size) {
      return refuse([
        {
          reason: 'size-decreased',
          detail: `le journal ${checkpoint.origin} est revenu de la taille ${state.size} à ${checkpoint.size} : des entrées ont disparu`,
        },
      ]);
    }
    if (checkpoint.size === state.size && !checkpoint.rootHash.equals(oldRoot)) {
      return refuse([
        {
          reason: 'root-changed',
          detail: `deux racines différentes signées pour la taille ${state.size} (${state.rootHash} puis ${checkpoint.rootHash.toString('base64')}) : l’historique a été réécrit`,
        },
      ]);
    }
    if (checkpoint.size > state.size) {
      const res = await fetch(`${options.url}/v1/log/proof/consistency?from=${state.size}&to=${checkpoint.size}`, { headers });
      const proof = res.ok ? ((await res.json()) as { proof: string[] }).proof.map((h) => Buffer.from(h, 'base64')) : undefined;
      if (!proof || !verifyConsistency(state.size, checkpoint.size, oldRoot, checkpoint.rootHash, proof)) {
        return refuse([
          {
            reason: 'consistency-invalid',
            detail: `l’arbre de taille ${checkpoint.size} ne prolonge pas celui de taille ${state.size} que le témoin a vérifié (preuve de cohérence ${proof ? 'invalide' : `refusée, HTTP ${res.status}`}) : l’historique a été réécrit`,
          },
        ]);
      }
    }
  }

  // The leaves: the checkpoint is only as good as the entries the log still serves for it.
  const leavesFrom = async (from: number, count: number) => {
    const res = await fetch(`${options.url}/v1/log/leaves?from=${from}&count=${count}`, { headers });
    if (!res.ok) throw new Error(`/v1/log/leaves : HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { leaves: { leafIndex: number; leaf: string }[] }).leaves;
  };
  const failures: WitnessFailure[] = [];
  const resume = state?.frontier !== undefined;
  let frontier = new Map<string, Hash>(resume ? Object.entries(state!.frontier!).map(([k, h]) => [k, Buffer.from(h, 'base64')]) : []);
  let size = resume ? state!.size : 0;
  let lastLeafHash = resume ? state!.lastLeafHash : undefined;
  if (resume && state!.size > 0 && state!.lastLeafHash) {
    const [last] = await leavesFrom(state!.size - 1, 1);
    if (last?.leafIndex !== state!.size - 1)
      failures.push({
        reason: 'leaf-missing',
        detail: `la feuille ${state!.size - 1}, la dernière que le témoin a vérifiée, n’est plus servie par le journal`,
      });
    else if (!leafHash(Buffer.from(last.leaf, 'base64')).equals(Buffer.from(state!.lastLeafHash, 'base64')))
      failures.push({ reason: 'leaf-changed', detail: `la feuille ${state!.size - 1} n’est plus celle que le témoin a vérifiée` });
  }
  outer: while (size < checkpoint.size) {
    const page = await leavesFrom(size, Math.min(PAGE, checkpoint.size - size));
    if (page.length === 0) {
      failures.push({
        reason: 'leaf-missing',
        detail: `le journal ne sert pas les feuilles ${size} à ${checkpoint.size - 1} du point de contrôle de taille ${checkpoint.size}`,
      });
      break;
    }
    const hashes: Hash[] = [];
    for (const leaf of page) {
      if (leaf.leafIndex !== size + hashes.length) {
        failures.push({
          reason: 'leaf-index-gap',
          detail: `le journal sert la feuille ${leaf.leafIndex} où la ${size + hashes.length} était attendue : des feuilles du point de contrôle de taille ${checkpoint.size} manquent`,
        });
        break outer;
      }
      hashes.push(leafHash(Buffer.from(leaf.leaf, 'base64')));
      if (size + hashes.length === checkpoint.size) break;
    }
    const all = new Map(frontier);
    for (const n of appendLeaves(size, frontier, hashes)) all.set(`${n.level}:${n.index}`, n.hash);
    size += hashes.length;
    frontier = new Map(decompose(0, size).map((k) => [`${k.level}:${k.index}`, all.get(`${k.level}:${k.index}`)!]));
    lastLeafHash = hashes[hashes.length - 1]!.toString('base64');
  }
  if (failures.length === 0 && size === checkpoint.size) {
    const root = size === 0 ? EMPTY_ROOT : rangeHash(0, size, (k) => frontier.get(`${k.level}:${k.index}`)!);
    if (!root.equals(checkpoint.rootHash))
      failures.push({
        reason: 'tree-mismatch',
        detail: `les feuilles servies donnent la racine ${root.toString('base64')}, le point de contrôle de taille ${checkpoint.size} signe ${checkpoint.rootHash.toString('base64')}`,
      });
  }
  if (failures.length > 0) return refuse(failures);

  const line = cosignNote(body, signer, Math.floor((options.now?.() ?? Date.now()) / 1000));
  const posted = await fetch(`${options.url}/v1/log/cosignatures`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' },
    body: `${body}\n${own.line}${line}`,
  });
  const report = [`cohérent : ${checkpoint.origin} taille ${checkpoint.size}${state ? ` (depuis ${state.size})` : ' (premier point de contrôle suivi)'}`];
  if (posted.status !== 204) {
    const detail = `cosignature refusée par le journal : HTTP ${posted.status} ${await posted.text()}`;
    report.push(detail);
    failures.push({ reason: 'cosignature-refused', detail });
  }
  const next: WitnessState = {
    origin: checkpoint.origin,
    vkey,
    size: checkpoint.size,
    rootHash: checkpoint.rootHash.toString('base64'),
    checkpoint: body,
    frontier: Object.fromEntries([...frontier].map(([k, h]) => [k, h.toString('base64')])),
    ...(lastLeafHash ? { lastLeafHash } : {}),
  };
  writeFileSync(`${options.statePath}.tmp`, JSON.stringify(next, null, 2), { mode: 0o600 });
  renameSync(`${options.statePath}.tmp`, options.statePath);
  return { ok: posted.status === 204, report, failures, size: checkpoint.size };
}

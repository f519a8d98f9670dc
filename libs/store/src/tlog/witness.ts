import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { verifyConsistency } from './merkle';
import { COSIGNATURE_V1, cosignNote, parseCheckpointBody, parseSignerKey, parseVkey, splitNote, verifySignatureLine, vkeyOf } from './note';

export interface WitnessState {
  origin: string;
  vkey: string;
  size: number;
  rootHash: string;
  checkpoint: string;
}

export interface WitnessResult {
  ok: boolean;
  /** French, one line per finding. */
  report: string[];
  size?: number;
}

/**
 * A witness (C2SP tlog-cosignature): fetches the latest checkpoint, checks the log's signature
 * with the key it pinned on first contact, checks consistency from the last checkpoint it
 * verified, cosigns, posts the cosignature back, and keeps the new checkpoint as its state.
 */
export async function runWitness(options: { url: string; keyText: string; statePath: string; token?: string; now?: () => number }): Promise<WitnessResult> {
  const signer = parseSignerKey(options.keyText);
  if (signer.type !== COSIGNATURE_V1) return { ok: false, report: ['la clé du témoin doit être une clé cosignature/v1 (type 0x04)'] };
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
  if (!own || !verifySignatureLine(body, own, key).ok) return { ok: false, report: [`INCOHÉRENT : le point de contrôle servi ne porte pas de signature valide de la clé ${vkey}`] };
  const checkpoint = parseCheckpointBody(body);
  if (state && checkpoint.origin !== state.origin) return { ok: false, report: [`INCOHÉRENT : origine ${checkpoint.origin}, le témoin suit ${state.origin}`] };
  if (state) {
    const oldRoot = Buffer.from(state.rootHash, 'base64');
    if (checkpoint.size < state.size) {
      return { ok: false, report: [`INCOHÉRENT : le journal ${checkpoint.origin} est revenu de la taille ${state.size} à ${checkpoint.size} : des entrées ont disparu`] };
    }
    if (checkpoint.size === state.size && !checkpoint.rootHash.equals(oldRoot)) {
      return { ok: false, report: [`INCOHÉRENT : deux racines différentes signées pour la taille ${state.size} (${state.rootHash} puis ${checkpoint.rootHash.toString('base64')}) : l’historique a été réécrit`] };
    }
    if (checkpoint.size > state.size) {
      const res = await fetch(`${options.url}/v1/log/proof/consistency?from=${state.size}&to=${checkpoint.size}`, { headers });
      const proof = res.ok ? ((await res.json()) as { proof: string[] }).proof.map((h) => Buffer.from(h, 'base64')) : undefined;
      if (!proof || !verifyConsistency(state.size, checkpoint.size, oldRoot, checkpoint.rootHash, proof)) {
        return {
          ok: false,
          report: [
            `INCOHÉRENT : l’arbre de taille ${checkpoint.size} ne prolonge pas celui de taille ${state.size} que le témoin a vérifié (preuve de cohérence ${proof ? 'invalide' : `refusée, HTTP ${res.status}`}) : l’historique a été réécrit`,
          ],
        };
      }
    }
  }
  const line = cosignNote(body, signer, Math.floor((options.now?.() ?? Date.now()) / 1000));
  const posted = await fetch(`${options.url}/v1/log/cosignatures`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'text/plain; charset=utf-8', 'witness-key': vkeyOf(signer) },
    body: `${body}\n${own.line}${line}`,
  });
  const report = [`cohérent : ${checkpoint.origin} taille ${checkpoint.size}${state ? ` (depuis ${state.size})` : ' (premier point de contrôle suivi)'}`];
  if (posted.status !== 204) report.push(`cosignature refusée par le journal : HTTP ${posted.status} ${await posted.text()}`);
  const next: WitnessState = { origin: checkpoint.origin, vkey, size: checkpoint.size, rootHash: checkpoint.rootHash.toString('base64'), checkpoint: body };
  writeFileSync(`${options.statePath}.tmp`, JSON.stringify(next, null, 2), { mode: 0o600 });
  renameSync(`${options.statePath}.tmp`, options.statePath);
  return { ok: posted.status === 204, report, size: checkpoint.size };
}

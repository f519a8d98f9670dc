import type { EventStore } from '../port';
import type { SqlDatabase, SqlExecutor } from '../sql/sql-client';
import { SqlEventStore } from '../sql/sql-event-store';
import { appendLeaves, decompose, leafHash, rangeHash, type Hash } from './merkle';
import { parseCheckpointBody, parseVkey, splitNote, verifySignatureLine } from './note';
import { leafOf, type StoredCheckpoint, type TransparencyLog } from './log';

/** Every kind of problem the structure and tree checks report. */
export const LOG_PROBLEM_KINDS = [
  'stream-head-mismatch',
  'stream-head-missing',
  'stream-missing',
  'position-gap',
  'recorded-at-decreasing',
  'leaf-event-missing',
  'leaf-mismatch',
  'event-not-in-tree',
  'leaf-index-gap',
  'checkpoint-beyond-tree',
  'tree-mismatch',
  'checkpoint-signature-invalid',
] as const;
export type LogProblemKind = (typeof LOG_PROBLEM_KINDS)[number];

export interface LogProblem {
  kind: LogProblemKind;
  streamId?: string;
  position?: string;
  detail: string;
}

const LIMIT = 100;

/**
 * What the chains alone cannot see (issue 15): every stream head against its last event, global
 * positions contiguous with recorded times that never go back, every sealed leaf against the
 * event at its position, and the stored tree against the latest signed checkpoint. All in SQL
 * over the store's tables (the SQL stores; EventStoreDB keeps its own order).
 */
export async function checkLogStructure(store: EventStore, db: SqlDatabase, log: TransparencyLog | undefined): Promise<LogProblem[]> {
  const sql = store instanceof SqlEventStore ? store : undefined;
  if (!sql && !log) return [];
  // One snapshot for every query (REPEATABLE READ): an append or a seal committed between two of
  // them (a leaf counted before, a checkpoint read after) would otherwise be reported as a gap.
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // The store's own tables (the SQL stores); the tree's, which live in the read database, whatever the store.
    const problems = sql ? await checkStoreTables(sql, tx, log) : [];
    if (log) problems.push(...(await checkTree(tx, log)));
    return problems;
  });
}

async function checkStoreTables(store: SqlEventStore, db: SqlExecutor, log: TransparencyLog | undefined): Promise<LogProblem[]> {
  const problems: LogProblem[] = [];
  const events = store.eventsTable;
  const streams = events.replace(/es_events$/, 'es_streams');
  const head = events.replace(/es_events$/, 'es_head');

  const heads = await db.query<{
    stream_id: string;
    head_revision: string | null;
    last_hash: string | null;
    last_revision: string | null;
    hash: string | null;
    position: string | null;
  }>(
    `SELECT coalesce(s.stream_id, e.stream_id) AS stream_id, s.revision::text AS head_revision, s.last_hash, e.revision::text AS last_revision, e.hash, e.position::text AS position
     FROM ${streams} s FULL JOIN (SELECT DISTINCT ON (stream_id) stream_id, revision, hash, position FROM ${events} ORDER BY stream_id, revision DESC) e ON e.stream_id = s.stream_id
     WHERE s.revision IS DISTINCT FROM e.revision OR s.last_hash IS DISTINCT FROM e.hash LIMIT ${LIMIT}`,
  );
  for (const h of heads.rows) {
    if (h.last_revision === null)
      problems.push({ kind: 'stream-missing', streamId: h.stream_id, detail: `le flux annonce la révision ${h.head_revision} mais n’a plus aucun événement` });
    else if (h.head_revision === null)
      problems.push({
        kind: 'stream-head-missing',
        streamId: h.stream_id,
        position: h.position ?? undefined,
        detail: `des événements (dernière révision ${h.last_revision}) sans tête de flux`,
      });
    else
      problems.push({
        kind: 'stream-head-mismatch',
        streamId: h.stream_id,
        position: h.position ?? undefined,
        detail: `la tête du flux annonce la révision ${h.head_revision} (${h.last_hash}), le dernier événement est la révision ${h.last_revision} (${h.hash})`,
      });
  }

  const order = await db.query<{ position: string; prev: string | null; stream_id: string; recorded_at: string | Date; prev_at: string | Date | null }>(
    `SELECT position::text AS position, prev::text AS prev, stream_id, recorded_at, prev_at FROM (
       SELECT position, stream_id, recorded_at, lag(position) OVER w AS prev, lag(recorded_at) OVER w AS prev_at FROM ${events} WINDOW w AS (ORDER BY position)) x
     WHERE (prev IS NULL AND position <> 1) OR position <> prev + 1 OR recorded_at < prev_at ORDER BY x.position LIMIT ${LIMIT}`,
  );
  for (const o of order.rows) {
    const expected = o.prev === null ? 1n : BigInt(o.prev) + 1n;
    if (BigInt(o.position) !== expected)
      problems.push({
        kind: 'position-gap',
        streamId: o.stream_id,
        position: o.position,
        detail: `position ${o.position} après ${o.prev ?? 'le début'} : ${BigInt(o.position) - expected} position(s) manquante(s)`,
      });
    if (o.prev_at !== null && new Date(o.recorded_at) < new Date(o.prev_at))
      problems.push({
        kind: 'recorded-at-decreasing',
        streamId: o.stream_id,
        position: o.position,
        detail: `enregistré le ${new Date(o.recorded_at).toISOString()}, avant la position ${o.prev} (${new Date(o.prev_at).toISOString()})`,
      });
  }
  const tail = await db.query<{ last_position: string; max: string | null }>(
    `SELECT h.last_position::text AS last_position, (SELECT max(position) FROM ${events})::text AS max FROM ${head} h WHERE h.id = 1`,
  );
  const t = tail.rows[0];
  if (t && BigInt(t.last_position) !== BigInt(t.max ?? '0'))
    problems.push({
      kind: 'position-gap',
      position: t.last_position,
      detail: `le magasin annonce la position ${t.last_position}, le dernier événement est à ${t.max ?? 0}`,
    });

  if (!log) return problems;
  const leaves = await db.query<{ leaf_index: string; position: string; leaf_stream: string; stream_id: string | null; revision: string | null }>(
    `SELECT l.leaf_index::text AS leaf_index, l.position::text AS position, l.leaf::jsonb->>'streamId' AS leaf_stream, e.stream_id, e.revision::text AS revision
     FROM ${log.s}.log_leaves l LEFT JOIN ${events} e ON e.position = l.position
     WHERE e.position IS NULL OR e.hash <> l.leaf::jsonb->>'hash' OR e.stream_id <> l.leaf::jsonb->>'streamId' OR e.revision <> (l.leaf::jsonb->>'revision')::bigint
     ORDER BY l.leaf_index LIMIT ${LIMIT}`,
  );
  for (const l of leaves.rows) {
    if (l.stream_id === null)
      problems.push({
        kind: 'leaf-event-missing',
        streamId: l.leaf_stream,
        position: l.position,
        detail: `la feuille ${l.leaf_index} scelle un événement de ${l.leaf_stream} à la position ${l.position}, qui n’est plus dans le magasin`,
      });
    else
      problems.push({
        kind: 'leaf-mismatch',
        streamId: l.stream_id,
        position: l.position,
        detail: `l’événement à la position ${l.position} (${l.stream_id} révision ${l.revision}) n’est pas celui que la feuille ${l.leaf_index} a scellé (${l.leaf_stream})`,
      });
  }
  const { lastPosition } = await log.state(db);
  const unsealed = await db.query<{ position: string; stream_id: string }>(
    `SELECT e.position::text AS position, e.stream_id FROM ${events} e LEFT JOIN ${log.s}.log_leaves l ON l.position = e.position WHERE e.position <= $1 AND l.position IS NULL ORDER BY e.position LIMIT ${LIMIT}`,
    [lastPosition.toString()],
  );
  for (const u of unsealed.rows)
    problems.push({
      kind: 'event-not-in-tree',
      streamId: u.stream_id,
      position: u.position,
      detail: `l’événement à la position ${u.position} est antérieur au dernier scellé mais absent de l’arbre`,
    });
  return problems;
}

/**
 * The stored tree alone (any store): leaves contiguous from 0, each level-0 node the hash of its
 * leaf, each inner node the hash of its children, and the latest signed checkpoint within the tree,
 * signed by the log, with the root recomputed at its size.
 */
async function checkTree(db: SqlExecutor, log: TransparencyLog): Promise<LogProblem[]> {
  const problems: LogProblem[] = [];
  const { size: sealedSize } = await log.state(db);
  const badLeafHashes = await db.query<{ leaf_index: string }>(
    `SELECT l.leaf_index::text AS leaf_index FROM ${log.s}.log_leaves l LEFT JOIN ${log.s}.log_nodes n ON n.level = 0 AND n.idx = l.leaf_index
     WHERE n.hash IS DISTINCT FROM encode(sha256('\\x00'::bytea || convert_to(l.leaf, 'UTF8')), 'hex') ORDER BY l.leaf_index LIMIT ${LIMIT}`,
  );
  for (const b of badLeafHashes.rows)
    problems.push({ kind: 'tree-mismatch', detail: `le nœud de la feuille ${b.leaf_index} n’est pas le hachage de la feuille` });

  // Leaf indexes 0…size-1, each once (a leaf deleted, the last one included, leaves a gap or a short tree).
  const gaps = await db.query<{ leaf_index: string; prev: string | null }>(
    `SELECT leaf_index::text AS leaf_index, prev::text AS prev FROM (SELECT leaf_index, lag(leaf_index) OVER (ORDER BY leaf_index) AS prev FROM ${log.s}.log_leaves) x
     WHERE (prev IS NULL AND leaf_index <> 0) OR leaf_index <> prev + 1 ORDER BY leaf_index LIMIT ${LIMIT}`,
  );
  for (const g of gaps.rows) {
    const from = g.prev === null ? 0 : Number(g.prev) + 1;
    problems.push({
      kind: 'leaf-index-gap',
      detail: `feuille ${g.leaf_index} après ${g.prev ?? 'le début'} : les feuilles ${from} à ${Number(g.leaf_index) - 1} manquent`,
    });
  }
  const count = await db.query<{ n: string; max: string | null }>(`SELECT count(*)::text AS n, max(leaf_index)::text AS max FROM ${log.s}.log_leaves`);
  const leafCount = Number(count.rows[0]?.n ?? 0);
  const maxIndex = count.rows[0]?.max ?? null;
  const present = maxIndex === null ? 0 : Number(maxIndex) + 1;
  if (present < sealedSize) {
    problems.push({
      kind: 'leaf-index-gap',
      detail: `l’arbre scellé compte ${sealedSize} feuilles, ${present === 0 ? 'aucune n’est présente' : `la dernière présente est la ${present - 1}`} : les feuilles ${present} à ${sealedSize - 1} manquent`,
    });
  } else if (leafCount !== sealedSize && gaps.rows.length === 0) {
    problems.push({ kind: 'leaf-index-gap', detail: `l’arbre scellé annonce ${sealedSize} feuilles, ${leafCount} sont présentes` });
  }
  // Every inner node recomputed from its two children (RFC 6962 §2.1: SHA-256(0x01 ‖ left ‖ right)):
  // with the leaf hashes above, the whole stored tree is recomputed, in the database.
  const badNodes = await db.query<{ level: number; idx: string }>(
    `SELECT p.level, p.idx::text AS idx FROM ${log.s}.log_nodes p
     LEFT JOIN ${log.s}.log_nodes l ON l.level = p.level - 1 AND l.idx = 2 * p.idx
     LEFT JOIN ${log.s}.log_nodes r ON r.level = p.level - 1 AND r.idx = 2 * p.idx + 1
     WHERE p.level > 0 AND (l.hash IS NULL OR r.hash IS NULL OR p.hash <> encode(sha256('\\x01'::bytea || decode(l.hash, 'hex') || decode(r.hash, 'hex')), 'hex'))
     ORDER BY p.level, p.idx LIMIT ${LIMIT}`,
  );
  for (const b of badNodes.rows)
    problems.push({ kind: 'tree-mismatch', detail: `le nœud ${b.level}:${b.idx} de l’arbre n’est pas le hachage de ses deux enfants (ou l’un d’eux manque)` });

  const latest = await log.latestCheckpoint(db);
  if (latest && latest.size > Math.min(sealedSize, leafCount)) {
    problems.push({
      kind: 'checkpoint-beyond-tree',
      detail: `le dernier point de contrôle signé compte ${latest.size} feuilles, l’arbre n’en a plus que ${Math.min(sealedSize, leafCount)} : des entrées signées ont disparu`,
    });
  }
  if (latest) {
    if (!checkpointSigned(log, latest))
      problems.push({
        kind: 'checkpoint-signature-invalid',
        detail: `le point de contrôle de taille ${latest.size} ne porte pas une signature valide du journal`,
      });
    let root: Hash | undefined;
    try {
      root = await log.rootAt(latest.size, db);
    } catch (error) {
      problems.push({ kind: 'tree-mismatch', detail: `l’arbre ne se recalcule pas à la taille ${latest.size} : ${(error as Error).message}` });
    }
    if (root && !root.equals(latest.rootHash))
      problems.push({
        kind: 'tree-mismatch',
        detail: `la racine de l’arbre à la taille ${latest.size} (${root.toString('base64')}) n’est pas celle du dernier point de contrôle signé (${latest.rootHash.toString('base64')})`,
      });
  }
  return problems;
}

/** The log's signature of a stored checkpoint, and that its body says the size and root it is stored with. */
function checkpointSigned(log: TransparencyLog, c: StoredCheckpoint): boolean {
  try {
    const { body, signatures } = splitNote(c.signedNote);
    const key = parseVkey(log.vkey);
    const own = signatures.find((s) => s.name === key.name && s.keyId.equals(key.keyId));
    const parsed = parseCheckpointBody(body);
    return own !== undefined && verifySignatureLine(body, own, key).ok && parsed.size === c.size && parsed.rootHash.equals(c.rootHash);
  } catch {
    return false;
  }
}

/**
 * The full recomputation (`cli verify`, the `full-verification` job): the tree rebuilt from the
 * store's events alone, in position order, its root compared with the latest signed checkpoint's
 * or (`everyCheckpoint`, `cli verify --full`) with every signed checkpoint's, each signature checked.
 */
export async function verifyTreeFromEvents(
  store: EventStore,
  log: TransparencyLog,
  options: { batchSize?: number; everyCheckpoint?: boolean; onProgress?: (leaves: number) => void } = {},
): Promise<LogProblem[]> {
  const batchSize = options.batchSize ?? 2000;
  const latest = await log.latestCheckpoint();
  if (!latest) return [];
  const problems: LogProblem[] = [];
  // The sizes to compare at, smallest first: every signed checkpoint's, or the latest's alone.
  const targets: StoredCheckpoint[] = [];
  if (options.everyCheckpoint) {
    for (let after = 0; ;) {
      const page = await log.checkpointsAfter(after);
      if (page.length === 0) break;
      targets.push(...page.filter((c) => c.size <= latest.size));
      after = page[page.length - 1]!.size;
    }
  } else targets.push(latest);
  let frontier = new Map<string, Hash>();
  let size = 0;
  let after = 0n;
  for (const target of targets) {
    if (options.everyCheckpoint && !checkpointSigned(log, target))
      problems.push({
        kind: 'checkpoint-signature-invalid',
        detail: `le point de contrôle de taille ${target.size} ne porte pas une signature valide du journal`,
      });
    while (size < target.size) {
      const batch = await store.readAll({ after, maxCount: Math.min(batchSize, target.size - size) });
      if (batch.length === 0) break;
      const added = appendLeaves(
        size,
        frontier,
        batch.map((e) => leafHash(leafOf(e))),
      );
      const all = new Map(frontier);
      for (const n of added) all.set(`${n.level}:${n.index}`, n.hash);
      size += batch.length;
      frontier = new Map(decompose(0, size).map((k) => [`${k.level}:${k.index}`, all.get(`${k.level}:${k.index}`)!]));
      after = batch[batch.length - 1]!.position;
      options.onProgress?.(size);
    }
    if (size < target.size) {
      problems.push({
        kind: 'tree-mismatch',
        detail: `le magasin n’a que ${size} événements, le point de contrôle signé de taille ${target.size} en compte ${target.size}`,
      });
      return problems;
    }
    const root = rangeHash(0, size, (k) => frontier.get(`${k.level}:${k.index}`)!);
    if (!root.equals(target.rootHash))
      problems.push({
        kind: 'tree-mismatch',
        detail: `l’arbre recalculé depuis les événements (taille ${size}) n’a pas la racine du point de contrôle signé de cette taille`,
      });
  }
  return problems;
}

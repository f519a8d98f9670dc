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
 * Where a per-call check looks (IncrementalIntegrity): position ranges `after < position ≤ upTo`,
 * leaf-index ranges `from ≤ leafIndex < to` and stream-id ranges `after < streamId ≤ upTo`, each
 * open at the end when its bound is absent. Without windows, everything (the full check).
 */
export interface StructureWindows {
  positions: { after: bigint; upTo?: bigint }[];
  leaves: { from: number; to?: number }[];
  streams: { after: string; upTo?: string }[];
  /** Streams whose head is compared however the stream ranges fall: those written after this position. */
  streamsWrittenAfter?: bigint;
}

/**
 * What the chains alone cannot see (issue 15): every stream head against its last event, global
 * positions contiguous with recorded times that never go back, every sealed leaf against the
 * event at its position, and the stored tree against the latest signed checkpoint. All in SQL
 * over the store's tables (the SQL stores; EventStoreDB keeps its own order). With `windows`
 * (GET /v1/integrity, issue 11 point 8), only the ranges given, so that a call's cost does not
 * grow with the store; the tail, the tree's size and the latest checkpoint's root always.
 */
export async function checkLogStructure(
  store: EventStore,
  db: SqlDatabase,
  log: TransparencyLog | undefined,
  windows?: StructureWindows,
): Promise<LogProblem[]> {
  const sql = store instanceof SqlEventStore ? store : undefined;
  if (!sql && !log) return [];
  // One snapshot for every query (REPEATABLE READ): an append or a seal committed between two of
  // them (a leaf counted before, a checkpoint read after) would otherwise be reported as a gap.
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    // Short index-driven queries: compiling them (JIT, on a large table's estimates) costs more than running them.
    if (db.dialect === 'postgres') await tx.query('SET LOCAL jit = off');
    // The store's own tables (the SQL stores); the tree's, which live in the read database, whatever the store.
    const problems = sql ? await checkStoreTables(sql, tx, log, windows) : [];
    if (log) problems.push(...(await checkTree(tx, log, windows)));
    return problems;
  });
}

/** A SQL condition on `column` for ranges `after < column ≤ upTo` (numbers) or `from ≤ column < to`, with its parameters appended to `params`. */
function rangesSql(column: string, ranges: { lo: string; hi?: string; loInclusive: boolean; hiInclusive: boolean }[], params: unknown[], cast: string): string {
  if (ranges.length === 0) return 'FALSE';
  return `(${ranges
    .map((r) => {
      params.push(r.lo);
      const lo = `${column} ${r.loInclusive ? '>=' : '>'} $${params.length}::${cast}`;
      if (r.hi === undefined) return lo;
      params.push(r.hi);
      return `(${lo} AND ${column} ${r.hiInclusive ? '<=' : '<'} $${params.length}::${cast})`;
    })
    .join(' OR ')})`;
}

type SqlRange = { lo: string; hi?: string; loInclusive: boolean; hiInclusive: boolean };

/**
 * Runs `query` once per range (each then an index range scan, which an OR of ranges is not) or,
 * without ranges, once over everything (`TRUE`): the rows together, at most LIMIT.
 */
async function perRange<R>(
  ranges: SqlRange[] | undefined,
  column: string,
  cast: string,
  base: unknown[],
  query: (condition: string, params: unknown[]) => Promise<{ rows: R[] }>,
): Promise<R[]> {
  if (!ranges) return (await query('TRUE', [...base])).rows;
  const out: R[] = [];
  for (const r of ranges) {
    const params = [...base];
    out.push(...(await query(rangesSql(column, [r], params, cast), params)).rows);
    if (out.length >= LIMIT) break;
  }
  return out.slice(0, LIMIT);
}

const positionRanges = (w: StructureWindows): SqlRange[] =>
  w.positions.map((r) => ({ lo: r.after.toString(), ...(r.upTo !== undefined ? { hi: r.upTo.toString() } : {}), loInclusive: false, hiInclusive: true }));

async function checkStoreTables(
  store: SqlEventStore,
  db: SqlExecutor,
  log: TransparencyLog | undefined,
  w: StructureWindows | undefined,
): Promise<LogProblem[]> {
  const problems: LogProblem[] = [];
  const events = store.eventsTable;
  const streams = events.replace(/es_events$/, 'es_streams');
  const head = events.replace(/es_events$/, 'es_head');

  type HeadRow = {
    stream_id: string;
    head_revision: string | null;
    last_hash: string | null;
    last_revision: string | null;
    hash: string | null;
    position: string | null;
  };
  let headRows: HeadRow[];
  if (!w) {
    headRows = (
      await db.query<HeadRow>(
        `SELECT coalesce(s.stream_id, e.stream_id) AS stream_id, s.revision::text AS head_revision, s.last_hash, e.revision::text AS last_revision, e.hash, e.position::text AS position
         FROM ${streams} s FULL JOIN (SELECT DISTINCT ON (stream_id) stream_id, revision, hash, position FROM ${events} ORDER BY stream_id, revision DESC) e ON e.stream_id = s.stream_id
         WHERE s.revision IS DISTINCT FROM e.revision OR s.last_hash IS DISTINCT FROM e.hash LIMIT ${LIMIT}`,
      )
    ).rows;
  } else {
    // The heads in the stream ranges and those of streams written since, each against its last
    // event (one index probe a stream); events without a head, in the position ranges.
    const params: unknown[] = [];
    const inStreams = rangesSql(
      's.stream_id',
      w.streams.map((r) => ({ lo: r.after, ...(r.upTo !== undefined ? { hi: r.upTo } : {}), loInclusive: false, hiInclusive: true })),
      params,
      'text',
    );
    let written = '';
    if (w.streamsWrittenAfter !== undefined) {
      params.push(w.streamsWrittenAfter.toString());
      written = ` UNION SELECT stream_id, revision, last_hash FROM ${streams} WHERE stream_id IN (SELECT stream_id FROM ${events} WHERE position > $${params.length}::bigint)`;
    }
    headRows = (
      await db.query<HeadRow>(
        `SELECT s.stream_id, s.revision::text AS head_revision, s.last_hash, e.revision::text AS last_revision, e.hash, e.position::text AS position
         FROM (SELECT stream_id, revision, last_hash FROM ${streams} s WHERE ${inStreams}${written}) s LEFT JOIN LATERAL (SELECT revision, hash, position FROM ${events} x WHERE x.stream_id = s.stream_id ORDER BY revision DESC LIMIT 1) e ON TRUE
         WHERE s.revision IS DISTINCT FROM e.revision OR s.last_hash IS DISTINCT FROM e.hash LIMIT ${LIMIT}`,
        params,
      )
    ).rows;
    const orphans = await perRange(positionRanges(w), 'e.position', 'bigint', [], (inPositions, params) =>
      db.query<HeadRow>(
        `SELECT e.stream_id, NULL AS head_revision, NULL AS last_hash, max(e.revision)::text AS last_revision, NULL AS hash, max(e.position)::text AS position
         FROM ${events} e WHERE ${inPositions} AND NOT EXISTS (SELECT 1 FROM ${streams} s WHERE s.stream_id = e.stream_id) GROUP BY e.stream_id LIMIT ${LIMIT}`,
        params,
      ),
    );
    headRows.push(...orphans);
  }
  for (const h of headRows) {
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

  // Positions contiguous and recorded times that never go back, range by range: a range starting
  // after `a` reads from `a` itself, so that a position missing at a boundary is seen by one of them.
  type OrderRow = { position: string; prev: string | null; stream_id: string; recorded_at: string | Date; prev_at: string | Date | null };
  const orderRows: OrderRow[] = [];
  for (const r of w ? w.positions : [undefined]) {
    const first = r && r.after > 0n ? r.after : 1n;
    const params: unknown[] = [first.toString()];
    let where = '';
    if (r) {
      where = 'WHERE position >= $1::bigint';
      if (r.upTo !== undefined) where += ` AND position <= $${params.push(r.upTo.toString())}::bigint`;
    }
    // The first event at or after `first` (in a range: found even when the whole range is gone), then the range's own gaps.
    const start = await db.query<{ position: string; stream_id: string }>(
      `SELECT e.position::text AS position, e.stream_id FROM ${events} e WHERE ${r ? 'e.position >= $1::bigint' : 'TRUE'} ORDER BY e.position LIMIT 1`,
      r ? [first.toString()] : [],
    );
    const s0 = start.rows[0];
    if (s0 && BigInt(s0.position) !== first)
      orderRows.push({
        position: s0.position,
        prev: first > 1n ? (first - 1n).toString() : null,
        stream_id: s0.stream_id,
        recorded_at: new Date(0),
        prev_at: null,
      });
    const rows = await db.query<OrderRow>(
      `SELECT position::text AS position, prev::text AS prev, stream_id, recorded_at, prev_at FROM (
         SELECT position, stream_id, recorded_at, lag(position) OVER w AS prev, lag(recorded_at) OVER w AS prev_at FROM ${events}
         ${where} WINDOW w AS (ORDER BY position)) x
       WHERE position <> prev + 1 OR recorded_at < prev_at ORDER BY x.position LIMIT ${LIMIT}`,
      r ? params : [],
    );
    orderRows.push(...rows.rows);
  }
  for (const o of orderRows) {
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
  const leafRanges = w?.leaves.map((r) => ({ lo: String(r.from), ...(r.to !== undefined ? { hi: String(r.to) } : {}), loInclusive: true, hiInclusive: false }));
  const leaves = await perRange(leafRanges, 'l.leaf_index', 'bigint', [], (inLeaves, params) =>
    db.query<{ leaf_index: string; position: string; leaf_stream: string; stream_id: string | null; revision: string | null }>(
      `SELECT l.leaf_index::text AS leaf_index, l.position::text AS position, l.leaf::jsonb->>'streamId' AS leaf_stream, e.stream_id, e.revision::text AS revision
       FROM ${log.s}.log_leaves l LEFT JOIN ${events} e ON e.position = l.position::bigint
       WHERE ${inLeaves} AND (e.position IS NULL OR e.hash <> l.leaf::jsonb->>'hash' OR e.stream_id <> l.leaf::jsonb->>'streamId' OR e.revision <> (l.leaf::jsonb->>'revision')::bigint)
       ORDER BY l.leaf_index LIMIT ${LIMIT}`,
      params,
    ),
  );
  for (const l of leaves) {
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
  const unsealed = await perRange(w ? positionRanges(w) : undefined, 'e.position', 'bigint', [lastPosition.toString()], (inPositions, params) =>
    db.query<{ position: string; stream_id: string }>(
      `SELECT e.position::text AS position, e.stream_id FROM ${events} e LEFT JOIN ${log.s}.log_leaves l ON l.position = e.position
       WHERE e.position <= $1 AND ${inPositions} AND l.position IS NULL ORDER BY e.position LIMIT ${LIMIT}`,
      params,
    ),
  );
  for (const u of unsealed)
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
async function checkTree(db: SqlExecutor, log: TransparencyLog, w?: StructureWindows): Promise<LogProblem[]> {
  const problems: LogProblem[] = [];
  const { size: sealedSize } = await log.state(db);
  const count = await db.query<{ n: string | null; max: string | null }>(
    w
      ? `SELECT NULL AS n, (SELECT max(leaf_index) FROM ${log.s}.log_leaves)::text AS max`
      : `SELECT count(*)::text AS n, max(leaf_index)::text AS max FROM ${log.s}.log_leaves`,
  );
  const maxIndex = count.rows[0]?.max ?? null;
  const present = maxIndex === null ? 0 : Number(maxIndex) + 1;
  // Counted by the full check; a per-call check sees a missing leaf in its ranges (the gaps below).
  const leafCount = count.rows[0]?.n != null ? Number(count.rows[0].n) : present;
  // The leaf ranges to look at: [from, to) within the tree's extent.
  const ranges = w
    ? w.leaves.map((r) => ({ from: r.from, to: Math.min(r.to ?? Infinity, Math.max(present, sealedSize)) })).filter((r) => r.to > r.from)
    : undefined;
  const sqlRanges = ranges?.map((r) => ({ lo: String(r.from), hi: String(r.to), loInclusive: true, hiInclusive: false }));
  const badLeafHashes = await perRange(sqlRanges, 'l.leaf_index', 'bigint', [], (leafWhere, params) =>
    db.query<{ leaf_index: string }>(
      `SELECT l.leaf_index::text AS leaf_index FROM ${log.s}.log_leaves l LEFT JOIN ${log.s}.log_nodes n ON n.level = 0 AND n.idx = l.leaf_index
       WHERE ${leafWhere} AND n.hash IS DISTINCT FROM encode(sha256('\\x00'::bytea || convert_to(l.leaf, 'UTF8')), 'hex') ORDER BY l.leaf_index LIMIT ${LIMIT}`,
      params,
    ),
  );
  for (const b of badLeafHashes) problems.push({ kind: 'tree-mismatch', detail: `le nœud de la feuille ${b.leaf_index} n’est pas le hachage de la feuille` });

  // Leaf indexes 0…size-1, each once (a leaf deleted, the last one included, leaves a gap or a
  // short tree); a range starting at `from` must find that leaf first.
  const gapRows: { leaf_index: string; prev: string | null }[] = [];
  for (const r of ranges ?? [{ from: 0, to: undefined }]) {
    const params: unknown[] = [String(r.from)];
    const hi = r.to !== undefined ? ` AND leaf_index < $${params.push(String(r.to))}::bigint` : '';
    // The first leaf at or after `from` (found even when the whole range is gone), then the range's own gaps.
    const first = await db.query<{ min: string | null }>(`SELECT min(leaf_index)::text AS min FROM ${log.s}.log_leaves WHERE leaf_index >= $1::bigint`, [
      String(r.from),
    ]);
    const min = first.rows[0]?.min ?? null;
    if (min !== null && Number(min) !== r.from) gapRows.push({ leaf_index: min, prev: r.from > 0 ? String(r.from - 1) : null });
    const gaps = await db.query<{ leaf_index: string; prev: string }>(
      `SELECT leaf_index::text AS leaf_index, prev::text AS prev FROM (SELECT leaf_index, lag(leaf_index) OVER (ORDER BY leaf_index) AS prev FROM ${log.s}.log_leaves
       WHERE leaf_index >= $1::bigint${hi}) x
       WHERE leaf_index <> prev + 1 ORDER BY leaf_index LIMIT ${LIMIT}`,
      params,
    );
    gapRows.push(...gaps.rows);
  }
  for (const g of gapRows) {
    const from = g.prev === null ? 0 : Number(g.prev) + 1;
    problems.push({
      kind: 'leaf-index-gap',
      detail: `feuille ${g.leaf_index} après ${g.prev ?? 'le début'} : les feuilles ${from} à ${Number(g.leaf_index) - 1} manquent`,
    });
  }
  if (present < sealedSize) {
    problems.push({
      kind: 'leaf-index-gap',
      detail: `l’arbre scellé compte ${sealedSize} feuilles, ${present === 0 ? 'aucune n’est présente' : `la dernière présente est la ${present - 1}`} : les feuilles ${present} à ${sealedSize - 1} manquent`,
    });
  } else if (present > sealedSize) {
    problems.push({ kind: 'leaf-index-gap', detail: `l’arbre scellé annonce ${sealedSize} feuilles, la dernière présente est la ${present - 1}` });
  } else if (leafCount !== sealedSize && gapRows.length === 0) {
    problems.push({ kind: 'leaf-index-gap', detail: `l’arbre scellé annonce ${sealedSize} feuilles, ${leafCount} sont présentes` });
  }
  // Every inner node recomputed from its two children (RFC 6962 §2.1: SHA-256(0x01 ‖ left ‖ right)):
  // with the leaf hashes above, the whole stored tree is recomputed, in the database. In ranges:
  // at each level, the nodes over the range's leaves (an index probe per level).
  const nodeCheck = `(l.hash IS NULL OR r.hash IS NULL OR p.hash <> encode(sha256('\\x01'::bytea || decode(l.hash, 'hex') || decode(r.hash, 'hex')), 'hex'))`;
  const children = `LEFT JOIN ${log.s}.log_nodes l ON l.level = p.level - 1 AND l.idx = 2 * p.idx
     LEFT JOIN ${log.s}.log_nodes r ON r.level = p.level - 1 AND r.idx = 2 * p.idx + 1`;
  const badNodes: { level: number; idx: string }[] = [];
  if (!ranges) {
    badNodes.push(
      ...(
        await db.query<{ level: number; idx: string }>(
          `SELECT p.level, p.idx::text AS idx FROM ${log.s}.log_nodes p ${children} WHERE p.level > 0 AND ${nodeCheck} ORDER BY p.level, p.idx LIMIT ${LIMIT}`,
        )
      ).rows,
    );
  } else {
    for (const r of ranges) {
      // At each level, the nodes over the range's leaves (an index range scan a level), each with
      // its two children (an index probe each): written so that no plan reads the whole tree.
      const { rows } = await db.query<{ level: number; idx: string }>(
        `SELECT x.level, x.idx::text AS idx FROM (SELECT g AS level, $1::bigint >> g AS lo, $2::bigint >> g AS hi FROM generate_series(1, 63) g) k
         CROSS JOIN LATERAL (SELECT p.level, p.idx, p.hash,
             (SELECT l.hash FROM ${log.s}.log_nodes l WHERE l.level = p.level - 1 AND l.idx = 2 * p.idx) AS lh,
             (SELECT r.hash FROM ${log.s}.log_nodes r WHERE r.level = p.level - 1 AND r.idx = 2 * p.idx + 1) AS rh
           FROM ${log.s}.log_nodes p WHERE p.level = k.level AND p.idx >= k.lo AND p.idx <= k.hi OFFSET 0) x
         WHERE x.lh IS NULL OR x.rh IS NULL OR x.hash <> encode(sha256('\\x01'::bytea || decode(x.lh, 'hex') || decode(x.rh, 'hex')), 'hex')
         ORDER BY x.level, x.idx LIMIT ${LIMIT}`,
        [String(r.from), String(r.to - 1)],
      );
      badNodes.push(...rows);
    }
  }
  for (const b of badNodes)
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

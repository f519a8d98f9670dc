import { createHash, sign } from 'node:crypto';
import { AppError, canonicalJson, type RecordedEvent } from '@forfait/events';
import { assertSchemaName, quoteIdent, widenToNumeric, type SqlDatabase, type SqlExecutor } from '../sql/sql-client';
import { EMPTY_ROOT, appendLeaves, consistencyRanges, decompose, inclusionRanges, leafHash, nodesOf, rangeHash, type Hash, type NodeKey } from './merkle';
import { checkpointBody, parseCheckpointBody, parseVkey, signNote, splitNote, verifySignatureLine, vkeyOf, type NoteSigner, type NoteVerifier } from './note';

/** What a leaf commits to (api.md, "Verifiable log"): the envelope and chain hash, the payload only by its digest. */
export interface LeafRecord {
  position: number;
  streamId: string;
  revision: number;
  type: string;
  recordedAt: string;
  effectiveAt: string;
  hash: string;
  dataSha256: string;
}

export function leafRecordOf(event: RecordedEvent): LeafRecord {
  return {
    position: Number(event.position),
    streamId: event.streamId,
    revision: event.revision,
    type: event.type,
    recordedAt: event.metadata.recordedAt,
    effectiveAt: event.metadata.effectiveAt,
    hash: event.hash,
    dataSha256: createHash('sha256').update(canonicalJson(event.data), 'utf8').digest('hex'),
  };
}

/** The leaf's bytes: the RFC 8785 JSON of its record. */
export function leafOf(event: RecordedEvent): string {
  return canonicalJson(leafRecordOf(event));
}

export class TreeSizeTooLargeError extends AppError {
  readonly code = 'TREE_SIZE_TOO_LARGE';
}
export class CheckpointNotFoundError extends AppError {
  readonly code = 'CHECKPOINT_NOT_FOUND';
}
export class CosignatureInvalidError extends AppError {
  readonly code = 'COSIGNATURE_INVALID';
}

export interface StoredCheckpoint {
  size: number;
  rootHash: Buffer;
  /** The checkpoint body and the log's signature line. */
  signedNote: string;
  signedAt: string;
  /** The witnesses' cosignature lines, in the order they came. */
  cosignatures: string[];
}

export function logDdl(schema: string): string[] {
  const s = quoteIdent(assertSchemaName(schema));
  // Store positions are numeric: EventStoreDB's (commit · 2^64 + prepare) are past a bigint.
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.log_state (id smallint PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, last_position numeric NOT NULL)`,
    `INSERT INTO ${s}.log_state (id, size, last_position) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${s}.log_leaves (leaf_index bigint PRIMARY KEY, position numeric NOT NULL UNIQUE, leaf text NOT NULL)`,
    // Tables made before positions were numeric.
    ...widenToNumeric(schema, [
      ['log_state', 'last_position'],
      ['log_leaves', 'position'],
    ]),
    // The complete subtrees: (level, idx) hashes leaves [idx·2^level, (idx+1)·2^level); level 0 are the leaf hashes.
    `CREATE TABLE IF NOT EXISTS ${s}.log_nodes (level smallint NOT NULL, idx bigint NOT NULL, hash text NOT NULL, PRIMARY KEY (level, idx))`,
    `CREATE TABLE IF NOT EXISTS ${s}.log_checkpoints (tree_size bigint PRIMARY KEY, root_hash text NOT NULL, note text NOT NULL, signed_at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.log_cosignatures (tree_size bigint NOT NULL, key_name text NOT NULL, key_id text NOT NULL, line text NOT NULL, cosigned_at timestamptz NOT NULL, PRIMARY KEY (tree_size, key_name, key_id))`,
    `CREATE TABLE IF NOT EXISTS ${s}.log_witnesses (vkey text PRIMARY KEY, registered_at timestamptz NOT NULL)`,
  ];
}

/**
 * The RFC 6962 tree over the global log, kept in `<schema>.log_*`: sealed batch by batch in the
 * caller's transaction (the sealer's checkpoint moves in the same one), signed as C2SP checkpoints.
 */
export class TransparencyLog {
  readonly s: string;
  readonly verifier: NoteVerifier;

  constructor(
    private readonly db: SqlDatabase,
    schema: string,
    private readonly signer: NoteSigner,
    readonly options: { checkpointEveryEvents: number; checkpointIntervalMs: number; witnessKeys: readonly string[]; now: () => Date },
  ) {
    this.s = quoteIdent(assertSchemaName(schema));
    this.verifier = { name: signer.name, type: signer.type, keyId: signer.keyId, publicKey: signer.publicKey };
  }

  get origin(): string {
    return this.signer.name;
  }

  get vkey(): string {
    return vkeyOf(this.verifier);
  }

  /**
   * The log's tables, under an advisory lock of their own: two processes starting together (two
   * projectors, an API beside them) would otherwise race on CREATE ... IF NOT EXISTS and one of
   * them die on pg_type's unique index (seen in test/topology.e2e-spec.ts).
   */
  async setup(tx?: SqlExecutor): Promise<void> {
    const run = async (t: SqlExecutor): Promise<void> => {
      await t.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['forfait-log']);
      for (const statement of logDdl(this.s.replace(/"/g, ''))) await t.query(statement);
    };
    if (tx) await run(tx);
    else await this.db.transaction(run);
  }

  async state(tx: SqlExecutor = this.db): Promise<{ size: number; lastPosition: bigint }> {
    const { rows } = await tx.query<{ size: string; last_position: string }>(`SELECT size::text, last_position::text FROM ${this.s}.log_state WHERE id = 1`);
    return { size: Number(rows[0]?.size ?? 0), lastPosition: BigInt(rows[0]?.last_position ?? '0') };
  }

  private async nodes(keys: readonly NodeKey[], tx: SqlExecutor = this.db): Promise<(key: NodeKey) => Hash> {
    const found = new Map<string, Hash>();
    if (keys.length > 0) {
      const { rows } = await tx.query<{ level: number; idx: string; hash: string }>(
        `SELECT n.level, n.idx::text, n.hash FROM jsonb_to_recordset($1::jsonb) AS k(level smallint, idx bigint) JOIN ${this.s}.log_nodes n ON n.level = k.level AND n.idx = k.idx`,
        [JSON.stringify(keys.map((k) => ({ level: k.level, idx: k.index })))],
      );
      for (const r of rows) found.set(`${r.level}:${r.idx}`, Buffer.from(r.hash, 'hex'));
    }
    return (key) => {
      const hash = found.get(`${key.level}:${key.index}`);
      if (!hash) throw new Error(`the log's node ${key.level}:${key.index} is missing`);
      return hash;
    };
  }

  /**
   * Appends the batch's events as leaves, in position order, and signs a checkpoint when N events
   * or T seconds have passed since the last one. Events already sealed (a batch replayed) are skipped.
   */
  async seal(tx: SqlExecutor, events: readonly RecordedEvent[]): Promise<void> {
    const { rows } = await tx.query<{ size: string; last_position: string }>(
      `SELECT size::text, last_position::text FROM ${this.s}.log_state WHERE id = 1 FOR UPDATE`,
    );
    const size = Number(rows[0]!.size);
    const lastPosition = BigInt(rows[0]!.last_position);
    const fresh = events.filter((e) => e.position > lastPosition);
    if (fresh.length > 0) {
      const frontierKeys = decompose(0, size);
      const node = await this.nodes(frontierKeys, tx);
      const frontier = new Map(frontierKeys.map((k) => [`${k.level}:${k.index}`, node(k)]));
      const leaves = fresh.map(leafOf);
      const added = appendLeaves(
        size,
        frontier,
        leaves.map((l) => leafHash(l)),
      );
      await tx.query(
        `INSERT INTO ${this.s}.log_leaves (leaf_index, position, leaf) SELECT leaf_index, position, leaf FROM jsonb_to_recordset($1::jsonb) AS x(leaf_index bigint, position numeric, leaf text)`,
        [JSON.stringify(fresh.map((e, i) => ({ leaf_index: size + i, position: e.position.toString(), leaf: leaves[i] })))],
      );
      await tx.query(
        `INSERT INTO ${this.s}.log_nodes (level, idx, hash) SELECT level, idx, hash FROM jsonb_to_recordset($1::jsonb) AS x(level smallint, idx bigint, hash text)`,
        [JSON.stringify(added.map((n) => ({ level: n.level, idx: n.index, hash: n.hash.toString('hex') })))],
      );
      await tx.query(`UPDATE ${this.s}.log_state SET size = $1, last_position = $2 WHERE id = 1`, [
        size + fresh.length,
        fresh[fresh.length - 1]!.position.toString(),
      ]);
    }
    await this.signIfDue(tx, false);
  }

  /** Signs a checkpoint of the sealed size when due (`force`: whenever it is larger than the last). */
  async signIfDue(tx: SqlExecutor = this.db, force = false): Promise<StoredCheckpoint | undefined> {
    const { size } = await this.state(tx);
    const { rows } = await tx.query<{ tree_size: string; signed_at: string | Date }>(
      `SELECT tree_size::text, signed_at FROM ${this.s}.log_checkpoints c ORDER BY c.tree_size DESC LIMIT 1`,
    );
    const last = rows[0];
    const lastSize = Number(last?.tree_size ?? 0);
    if (size === 0 || size <= lastSize) return undefined;
    const elapsed = last ? this.options.now().getTime() - new Date(last.signed_at).getTime() : Infinity;
    if (!force && size - lastSize < this.options.checkpointEveryEvents && elapsed < this.options.checkpointIntervalMs) return undefined;
    const root = await this.rootAt(size, tx);
    const body = checkpointBody({ origin: this.origin, size, rootHash: root });
    const note = `${body}\n${signNote(body, this.signer)}`;
    const signedAt = this.options.now().toISOString();
    await tx.query(`INSERT INTO ${this.s}.log_checkpoints (tree_size, root_hash, note, signed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING`, [
      size,
      root.toString('hex'),
      note,
      signedAt,
    ]);
    return { size, rootHash: root, signedNote: note, signedAt, cosignatures: [] };
  }

  async rootAt(size: number, tx: SqlExecutor = this.db): Promise<Hash> {
    if (size === 0) return EMPTY_ROOT;
    const keys = decompose(0, size);
    return rangeHash(0, size, await this.nodes(keys, tx));
  }

  private async checkSize(size: number): Promise<void> {
    const latest = await this.latestCheckpoint();
    const signed = latest?.size ?? 0;
    if (!Number.isSafeInteger(size) || size < 0 || size > signed) {
      throw new TreeSizeTooLargeError(`la taille ${size} dépasse celle du dernier point de contrôle signé (${signed})`);
    }
  }

  async inclusionProof(leafIndex: number, treeSize: number): Promise<Hash[]> {
    await this.checkSize(treeSize);
    const ranges = inclusionRanges(leafIndex, treeSize);
    const node = await this.nodes(nodesOf(ranges));
    return ranges.map(([lo, hi]) => rangeHash(lo, hi, node));
  }

  async consistencyProof(from: number, to: number): Promise<Hash[]> {
    await this.checkSize(to);
    const ranges = consistencyRanges(from, to);
    const node = await this.nodes(nodesOf(ranges));
    return ranges.map(([lo, hi]) => rangeHash(lo, hi, node));
  }

  async leafAt(by: { leafIndex: number } | { position: bigint }): Promise<{ leafIndex: number; position: string; leaf: string } | undefined> {
    const [where, value] = 'leafIndex' in by ? ['leaf_index', String(by.leafIndex)] : ['position', by.position.toString()];
    const { rows } = await this.db.query<{ leaf_index: string; position: string; leaf: string }>(
      `SELECT leaf_index::text, position::text, leaf FROM ${this.s}.log_leaves WHERE ${where} = $1`,
      [value],
    );
    const r = rows[0];
    return r ? { leafIndex: Number(r.leaf_index), position: r.position, leaf: r.leaf } : undefined;
  }

  /** The sealed leaves of these store positions (those not sealed yet are absent). */
  async leavesAt(positions: readonly bigint[]): Promise<Map<string, { leafIndex: number; position: string; leaf: string }>> {
    const out = new Map<string, { leafIndex: number; position: string; leaf: string }>();
    if (positions.length === 0) return out;
    const { rows } = await this.db.query<{ leaf_index: string; position: string; leaf: string }>(
      `SELECT l.leaf_index::text, l.position::text, l.leaf FROM ${this.s}.log_leaves l WHERE l.position IN (SELECT p::numeric FROM jsonb_array_elements_text($1::jsonb) AS x(p))`,
      [JSON.stringify(positions.map((p) => p.toString()))],
    );
    for (const r of rows) out.set(r.position, { leafIndex: Number(r.leaf_index), position: r.position, leaf: r.leaf });
    return out;
  }

  /** A detached Ed25519 signature by the log's key (the audit bundle's), base64. */
  signDetached(message: string): string {
    return sign(null, Buffer.from(message, 'utf8'), this.signer.privateKey).toString('base64');
  }

  async leaves(from: number, count: number): Promise<{ leafIndex: number; position: string; leaf: string }[]> {
    const { rows } = await this.db.query<{ leaf_index: string; position: string; leaf: string }>(
      `SELECT leaf_index::text, position::text, leaf FROM ${this.s}.log_leaves l WHERE l.leaf_index >= $1 ORDER BY l.leaf_index LIMIT $2`,
      [from, count],
    );
    return rows.map((r) => ({ leafIndex: Number(r.leaf_index), position: r.position, leaf: r.leaf }));
  }

  async latestCheckpoint(tx: SqlExecutor = this.db): Promise<StoredCheckpoint | undefined> {
    return this.checkpoint(undefined, tx);
  }

  /** The signed checkpoint of that size (the latest without), with its cosignatures. */
  async checkpoint(size?: number, tx: SqlExecutor = this.db): Promise<StoredCheckpoint | undefined> {
    const { rows } = await tx.query<{ tree_size: string; root_hash: string; note: string; signed_at: string | Date }>(
      size === undefined
        ? `SELECT tree_size::text, root_hash, note, signed_at FROM ${this.s}.log_checkpoints c ORDER BY c.tree_size DESC LIMIT 1`
        : `SELECT tree_size::text, root_hash, note, signed_at FROM ${this.s}.log_checkpoints WHERE tree_size = $1`,
      size === undefined ? [] : [size],
    );
    const r = rows[0];
    if (!r) return undefined;
    const cos = await tx.query<{ line: string }>(`SELECT line FROM ${this.s}.log_cosignatures WHERE tree_size = $1 ORDER BY cosigned_at, key_name`, [
      r.tree_size,
    ]);
    return {
      size: Number(r.tree_size),
      rootHash: Buffer.from(r.root_hash, 'hex'),
      signedNote: r.note,
      signedAt: new Date(r.signed_at).toISOString(),
      cosignatures: cos.rows.map((c) => c.line),
    };
  }

  /** The signed checkpoints larger than `size`, smallest first (without cosignatures: as the log signed them). */
  async checkpointsAfter(size: number, limit = 1000): Promise<StoredCheckpoint[]> {
    const { rows } = await this.db.query<{ tree_size: string; root_hash: string; note: string; signed_at: string | Date }>(
      `SELECT tree_size::text, root_hash, note, signed_at FROM ${this.s}.log_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2`,
      [size, limit],
    );
    return rows.map((r) => ({
      size: Number(r.tree_size),
      rootHash: Buffer.from(r.root_hash, 'hex'),
      signedNote: r.note,
      signedAt: new Date(r.signed_at).toISOString(),
      cosignatures: [],
    }));
  }

  /** The latest checkpoint of at least `minSize` leaves that a witness has cosigned, if any. */
  async latestCosignedCheckpoint(minSize: number): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.db.query<{ tree_size: string }>(
      `SELECT c.tree_size::text FROM ${this.s}.log_checkpoints c WHERE c.tree_size >= $1 AND EXISTS (SELECT 1 FROM ${this.s}.log_cosignatures w WHERE w.tree_size = c.tree_size) ORDER BY c.tree_size DESC LIMIT 1`,
      [minSize],
    );
    return rows[0] ? this.checkpoint(Number(rows[0].tree_size)) : undefined;
  }

  /** The checkpoint as served: body, blank line, the log's signature, then the cosignatures. */
  static served(c: StoredCheckpoint): string {
    return c.signedNote + c.cosignatures.join('');
  }

  async witnessKeys(): Promise<string[]> {
    const { rows } = await this.db.query<{ vkey: string }>(`SELECT vkey FROM ${this.s}.log_witnesses ORDER BY registered_at`);
    return [...new Set([...this.options.witnessKeys, ...rows.map((r) => r.vkey)])];
  }

  async registerWitness(vkey: string): Promise<void> {
    parseVkey(vkey);
    await this.db.query(`INSERT INTO ${this.s}.log_witnesses (vkey, registered_at) VALUES ($1, $2) ON CONFLICT (vkey) DO NOTHING`, [
      vkey,
      this.options.now().toISOString(),
    ]);
  }

  /**
   * Keeps the cosignatures of a checkpoint posted back by a witness: the note must be one this log
   * signed, and each line beyond the log's own must verify under a known witness key.
   */
  async addCosignatures(note: string, extraKeys: readonly string[] = []): Promise<number> {
    let parsed: ReturnType<typeof splitNote>;
    try {
      parsed = splitNote(note);
    } catch (error) {
      throw new CosignatureInvalidError(`note illisible : ${(error as Error).message}`);
    }
    let checkpoint;
    try {
      checkpoint = parseCheckpointBody(parsed.body);
    } catch (error) {
      throw new CosignatureInvalidError(`point de contrôle illisible : ${(error as Error).message}`);
    }
    const stored = await this.checkpoint(checkpoint.size);
    if (!stored || splitNote(stored.signedNote).body !== parsed.body)
      throw new CosignatureInvalidError(`aucun point de contrôle de taille ${checkpoint.size} avec cette racine n’a été signé par ce journal`);
    let keys: NoteVerifier[];
    try {
      keys = [...(await this.witnessKeys()), ...extraKeys].map(parseVkey).filter((k) => k.type === 0x04);
    } catch (error) {
      throw new CosignatureInvalidError(`clé de témoin illisible : ${(error as Error).message}`);
    }
    let kept = 0;
    for (const line of parsed.signatures) {
      if (line.name === this.verifier.name && line.keyId.equals(this.verifier.keyId)) continue;
      const key = keys.find((k) => k.name === line.name && k.keyId.equals(line.keyId));
      if (!key) throw new CosignatureInvalidError(`la clé du témoin ${line.name} n’est pas connue`);
      const checked = verifySignatureLine(parsed.body, line, key);
      if (!checked.ok) throw new CosignatureInvalidError(`la cosignature de ${line.name} ne se vérifie pas`);
      await this.db.query(
        `INSERT INTO ${this.s}.log_cosignatures (tree_size, key_name, key_id, line, cosigned_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tree_size, key_name, key_id) DO UPDATE SET line = EXCLUDED.line, cosigned_at = EXCLUDED.cosigned_at`,
        [checkpoint.size, line.name, line.keyId.toString('hex'), line.line, new Date((checked.timestamp ?? 0) * 1000).toISOString()],
      );
      kept += 1;
    }
    if (kept === 0) throw new CosignatureInvalidError('aucune cosignature de témoin dans la note');
    return kept;
  }
}

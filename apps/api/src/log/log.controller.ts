import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Runtime } from '@forfait/read-models';
import { AppError } from '@forfait/events';
import { COSIGNATURE_V1, CheckpointNotFoundError, TransparencyLog, leafHash, parseCheckpointBody, parseVkey, splitNote } from '@forfait/store';
import { PublicLog, Roles, type AuthedRequest } from '../auth/auth.guard';
import { ForbiddenError } from '../auth/auth.errors';
import { RequestValidationError } from '../common/validation';
import { RUNTIME } from '../runtime.token';

const MAX_COSIGNED_NOTE_BYTES = 64 * 1024;

/** A cosigned note over its limit: 413 in the envelope (api.md's table). */
export class CosignedNoteTooLargeError extends AppError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
/** No sealed leaf (or none in a signed checkpoint yet) at that place: nothing to prove. */
export class LeafNotFoundError extends AppError {
  readonly code = 'NOT_FOUND';
}

function integer(text: string | undefined, field: string, min = 0): number {
  if (text === undefined || !/^\d{1,15}$/.test(text) || Number(text) < min)
    throw new RequestValidationError(`${field} doit être un entier ≥ ${min}`, { field });
  return Number(text);
}

/** The verifiable log (api.md, "Verifiable log"): checkpoints, leaves, proofs, cosignatures; hashes in base64. */
@ApiTags('log')
@ApiBearerAuth()
@Controller('v1/log')
export class LogController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  private get log(): TransparencyLog {
    return this.runtime.log;
  }

  @Get('checkpoint')
  @PublicLog()
  @ApiQuery({ name: 'treeSize', required: false })
  @ApiOperation({
    summary:
      'The latest signed checkpoint (C2SP tlog-checkpoint signed note, with the witnesses’ cosignatures), or the one of ?treeSize=; 404 CHECKPOINT_NOT_FOUND',
  })
  async checkpoint(@Query('treeSize') treeSize: string | undefined, @Res() res: Response): Promise<void> {
    const size = treeSize === undefined ? undefined : integer(treeSize, 'treeSize');
    const c = await this.log.checkpoint(size);
    if (!c)
      throw new CheckpointNotFoundError(
        size === undefined ? 'aucun point de contrôle signé pour l’instant' : `aucun point de contrôle signé de taille ${size}`,
      );
    res.type('text/plain; charset=utf-8').send(TransparencyLog.served(c));
  }

  @Get('public-key')
  @PublicLog()
  @ApiOperation({ summary: 'The log’s signed-note verifier key and the witnesses’ cosignature/v1 keys' })
  async publicKey() {
    return { origin: this.log.origin, vkey: this.log.vkey, algorithm: 'Ed25519', witnesses: await this.log.witnessKeys() };
  }

  @Get('leaves')
  @PublicLog()
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'count', required: false })
  @ApiOperation({ summary: 'Leaves from a 0-based index (at most 1 000): { leaves: [{ leafIndex, position, leaf, leafHash }] }' })
  async leaves(@Query('from') from: string | undefined, @Query('count') count: string | undefined) {
    const n = Math.min(count === undefined ? 100 : integer(count, 'count', 1), 1000);
    const leaves = await this.log.leaves(integer(from, 'from'), n);
    return {
      leaves: leaves.map((l) => ({
        leafIndex: l.leafIndex,
        position: l.position,
        leaf: Buffer.from(l.leaf).toString('base64'),
        leafHash: leafHash(l.leaf).toString('base64'),
      })),
    };
  }

  @Get('proof/inclusion')
  @PublicLog()
  @ApiQuery({ name: 'position', required: false })
  @ApiQuery({ name: 'leafIndex', required: false })
  @ApiQuery({ name: 'treeSize', required: false, description: 'omitted: the latest checkpoint’s' })
  @ApiOperation({ summary: 'RFC 6962 audit path of a leaf (by the event’s position or its leaf index); 400 TREE_SIZE_TOO_LARGE past the latest checkpoint' })
  async inclusion(
    @Query('position') position: string | undefined,
    @Query('leafIndex') leafIndex: string | undefined,
    @Query('treeSize') treeSize: string | undefined,
  ) {
    const size = treeSize === undefined ? ((await this.log.latestCheckpoint())?.size ?? 0) : integer(treeSize, 'treeSize', 1);
    const leaf = await this.log.leafAt(
      leafIndex !== undefined ? { leafIndex: integer(leafIndex, 'leafIndex') } : { position: BigInt(integer(position, 'position', 1)) },
    );
    if (!leaf)
      throw new LeafNotFoundError(
        leafIndex !== undefined
          ? `aucune feuille scellée d’index ${leafIndex}`
          : `aucune feuille scellée à la position ${position ?? ''} : l’événement n’existe pas ou n’est pas encore scellé`,
      );
    // Sealed but in no signed checkpoint yet: not provable until the next one.
    if (treeSize === undefined && leaf.leafIndex >= size)
      throw new LeafNotFoundError(`la feuille ${leaf.leafIndex} n’est encore dans aucun point de contrôle signé (le dernier est de taille ${size})`);
    if (leaf.leafIndex >= size)
      throw new RequestValidationError(`la feuille ${leaf.leafIndex} n’est pas dans l’arbre de taille ${size}`, { field: 'treeSize' });
    const proof = await this.log.inclusionProof(leaf.leafIndex, size);
    return {
      leafIndex: leaf.leafIndex,
      position: leaf.position,
      treeSize: size,
      leaf: Buffer.from(leaf.leaf).toString('base64'),
      leafHash: leafHash(leaf.leaf).toString('base64'),
      proof: proof.map((h) => h.toString('base64')),
    };
  }

  @Get('proof/consistency')
  @PublicLog()
  @ApiQuery({ name: 'from', required: true })
  @ApiQuery({ name: 'to', required: true })
  @ApiOperation({ summary: 'RFC 6962 consistency proof between two tree sizes (§2.1.2)' })
  async consistency(@Query('from') fromText: string | undefined, @Query('to') toText: string | undefined) {
    const from = integer(fromText, 'from');
    const to = integer(toText, 'to');
    if (from > to) throw new RequestValidationError('from doit être ≤ to', { field: 'from' });
    return { from, to, proof: (await this.log.consistencyProof(from, to)).map((h) => h.toString('base64')) };
  }

  @Post('cosignatures')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'A witness posts the checkpoint as served followed by its tlog-cosignature line (text/plain, at most 64 KiB, else 413 PAYLOAD_TOO_LARGE); the key must be configured (LOG_WITNESS_KEYS) or registered (POST /v1/log/witnesses) and, for a witness token, be named as its sub; 422 when it does not verify',
  })
  async cosign(@Req() req: AuthedRequest & Request): Promise<void> {
    const { role, sub } = req.principal;
    if (role !== 'witness' && role !== 'admin')
      throw new ForbiddenError(`le rôle ${role} ne peut pas déposer de cosignature (rôles autorisés : witness, admin)`, { reason: 'ROLE_NOT_ALLOWED' });
    const tooLarge = () =>
      new CosignedNoteTooLargeError(`note cosignée trop volumineuse (au plus ${MAX_COSIGNED_NOTE_BYTES} octets)`, { limit: MAX_COSIGNED_NOTE_BYTES });
    const announced = req.headers['content-length'];
    if (announced !== undefined && Number(announced) > MAX_COSIGNED_NOTE_BYTES) throw tooLarge();
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_COSIGNED_NOTE_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
    const note = Buffer.concat(chunks).toString('utf8');
    // A witness posts its own cosignature only: the key's name is its token's subject. The note as
    // served already carries the cosignatures kept so far (api.md: « the checkpoint as served followed
    // by the witness's line »): those, exactly as kept for that size, are not another witness's posting.
    if (role === 'witness') {
      let foreign: string[] = [];
      try {
        const { body, signatures } = splitNote(note);
        const kept = new Set((await this.log.checkpoint(parseCheckpointBody(body).size))?.cosignatures ?? []);
        foreign = signatures.filter((l) => l.name !== this.log.origin && l.name !== sub && !kept.has(l.line)).map((l) => l.name);
      } catch {
        // Unreadable: addCosignatures says why (422).
      }
      if (foreign.length > 0)
        throw new ForbiddenError(`le témoin ${sub} ne peut déposer que sa propre cosignature (la note porte celle de ${foreign.join(', ')})`, {
          reason: 'WITNESS_KEY_NOT_OWN',
        });
    }
    await this.log.addCosignatures(note);
  }

  @Post('witnesses')
  @Roles('admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Registers a witness’s cosignature/v1 verifier key (admin): { vkey } → 201 { name, vkey }; its token’s sub must be the key’s name' })
  async registerWitness(@Body() body: unknown) {
    const vkey = typeof body === 'object' && body !== null && 'vkey' in body ? body.vkey : undefined;
    if (typeof vkey !== 'string' || vkey.length > 1000)
      throw new RequestValidationError('vkey : la clé de vérification du témoin (texte) est attendue', { field: 'vkey' });
    let key: ReturnType<typeof parseVkey>;
    try {
      key = parseVkey(vkey);
    } catch (error) {
      throw new RequestValidationError(`vkey illisible : ${(error as Error).message}`, { field: 'vkey' });
    }
    if (key.type !== COSIGNATURE_V1) throw new RequestValidationError('vkey : une clé cosignature/v1 (type 0x04) est attendue', { field: 'vkey' });
    if (key.name === this.log.origin) throw new RequestValidationError('vkey : le nom de la clé est celui du journal', { field: 'vkey' });
    await this.log.registerWitness(vkey);
    return { name: key.name, vkey };
  }
}

import { Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Runtime } from '@forfait/read-models';
import { CheckpointNotFoundError, CosignatureInvalidError, TransparencyLog, leafHash } from '@forfait/store';
import { PublicLog, type AuthedRequest } from '../auth/auth.guard';
import { ForbiddenError } from '../auth/auth.errors';
import { RequestValidationError } from '../common/validation';
import { RUNTIME } from '../runtime.token';

const MAX_COSIGNED_NOTE_BYTES = 64 * 1024;

function integer(text: string | undefined, field: string, min = 0): number {
  if (text === undefined || !/^\d{1,15}$/.test(text) || Number(text) < min) throw new RequestValidationError(`${field} doit être un entier ≥ ${min}`, { field });
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
  @ApiOperation({ summary: 'The latest signed checkpoint (C2SP tlog-checkpoint signed note, with the witnesses’ cosignatures), or the one of ?treeSize=; 404 CHECKPOINT_NOT_FOUND' })
  async checkpoint(@Query('treeSize') treeSize: string | undefined, @Res() res: Response): Promise<void> {
    const size = treeSize === undefined ? undefined : integer(treeSize, 'treeSize');
    const c = await this.log.checkpoint(size);
    if (!c) throw new CheckpointNotFoundError(size === undefined ? 'aucun point de contrôle signé pour l’instant' : `aucun point de contrôle signé de taille ${size}`);
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
    return { leaves: leaves.map((l) => ({ leafIndex: l.leafIndex, position: l.position, leaf: Buffer.from(l.leaf).toString('base64'), leafHash: leafHash(l.leaf).toString('base64') })) };
  }

  @Get('proof/inclusion')
  @PublicLog()
  @ApiQuery({ name: 'position', required: false })
  @ApiQuery({ name: 'leafIndex', required: false })
  @ApiQuery({ name: 'treeSize', required: false, description: 'omitted: the latest checkpoint’s' })
  @ApiOperation({ summary: 'RFC 6962 audit path of a leaf (by the event’s position or its leaf index); 400 TREE_SIZE_TOO_LARGE past the latest checkpoint' })
  async inclusion(@Query('position') position: string | undefined, @Query('leafIndex') leafIndex: string | undefined, @Query('treeSize') treeSize: string | undefined) {
    const size = treeSize === undefined ? ((await this.log.latestCheckpoint())?.size ?? 0) : integer(treeSize, 'treeSize', 1);
    const leaf = await this.log.leafAt(leafIndex !== undefined ? { leafIndex: integer(leafIndex, 'leafIndex') } : { position: BigInt(integer(position, 'position', 1)) });
    if (!leaf) throw new CheckpointNotFoundError('aucune feuille scellée à cette position');
    if (leaf.leafIndex >= size) throw new RequestValidationError(`la feuille ${leaf.leafIndex} n’est pas dans l’arbre de taille ${size}`, { field: 'treeSize' });
    const proof = await this.log.inclusionProof(leaf.leafIndex, size);
    return { leafIndex: leaf.leafIndex, position: leaf.position, treeSize: size, leaf: Buffer.from(leaf.leaf).toString('base64'), leafHash: leafHash(leaf.leaf).toString('base64'), proof: proof.map((h) => h.toString('base64')) };
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
  @ApiOperation({ summary: 'A witness posts the checkpoint as served followed by its tlog-cosignature line (text/plain); 422 when it does not verify' })
  async cosign(@Req() req: AuthedRequest & Request): Promise<void> {
    const { role } = req.principal;
    if (role !== 'witness' && role !== 'admin') throw new ForbiddenError(`le rôle ${role} ne peut pas déposer de cosignature (rôles autorisés : witness, admin)`, { reason: 'ROLE_NOT_ALLOWED' });
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_COSIGNED_NOTE_BYTES) throw new CosignatureInvalidError(`note trop longue (au plus ${MAX_COSIGNED_NOTE_BYTES} octets)`);
      chunks.push(chunk);
    }
    // A witness principal brings its key in `Witness-Key`; it is kept for the next ones. Others must be configured.
    const offered = req.headers['witness-key'];
    const extra = role === 'witness' && typeof offered === 'string' ? [offered] : [];
    await this.log.addCosignatures(Buffer.concat(chunks).toString('utf8'), extra);
    for (const key of extra) await this.log.registerWitness(key);
  }
}

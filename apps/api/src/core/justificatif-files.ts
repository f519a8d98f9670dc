import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '@forfait/events';
import { fromBuffer } from 'file-type';

/** At most 10 Mo (spec, "Justificatifs"; the amelipro screens of seed 000). */
export const MAX_JUSTIFICATIF_BYTES = 10 * 1024 * 1024;

/** The formats allowed, as their content shows them (magic bytes), never as their name says. */
export const ALLOWED_MEDIA_TYPES: Record<string, string> = {
  'application/pdf': 'PDF',
  'application/x-cfb': 'DOC',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'application/vnd.oasis.opendocument.text': 'ODT',
  'application/zip': 'ZIP',
  'application/x-7z-compressed': '7Z',
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
};

export class UnsupportedMediaTypeError extends AppError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}

/** Files stored once, addressed by their SHA-256, under `<dir>/<first two hex>/<sha256>`. */
export class JustificatifFiles {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async sniff(content: Buffer): Promise<string> {
    const detected = await fromBuffer(content);
    const mime = detected?.mime;
    if (!mime || !ALLOWED_MEDIA_TYPES[mime]) {
      throw new UnsupportedMediaTypeError(
        `the file's content is ${mime ?? 'of no recognised type'}; allowed: ${Object.values(ALLOWED_MEDIA_TYPES).join(', ')} (judged by content, not by name)`,
        { detected: mime ?? null },
      );
    }
    return mime;
  }

  async store(content: Buffer): Promise<{ sha256: string; path: string; existed: boolean }> {
    const sha256 = createHash('sha256').update(content).digest('hex');
    const folder = join(this.dir, sha256.slice(0, 2));
    const path = join(folder, sha256);
    try {
      await stat(path);
      return { sha256, path, existed: true };
    } catch {
      await mkdir(folder, { recursive: true });
      // Written beside, then renamed: a crash never leaves a half file under its hash.
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, content, { flag: 'wx' });
      await rename(tmp, path);
      return { sha256, path, existed: false };
    }
  }

  /** The stored file of a SHA-256 (lowercase hex), or undefined when it is not kept here. */
  async read(sha256: string): Promise<Buffer | undefined> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    try {
      return await readFile(join(this.dir, sha256.slice(0, 2), sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Removes a file this request stored when its command was refused (never one that existed). */
  async discard(stored: { path: string; existed: boolean }): Promise<void> {
    if (!stored.existed) await rm(stored.path, { force: true });
  }
}

import { constants } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@forfait/events';
import type { StoredCheckpoint } from './log';

export class CheckpointDirectoryConflictError extends AppError {
  readonly code = 'CHECKPOINT_DIRECTORY_CONFLICT';
}

/**
 * Issue 15.3: every signed checkpoint also written to a directory for publication, append-only.
 * One file per tree size, named by the size in decimal, holding the signed note as the log signed it
 * (body, blank line, the log's signature line; the witnesses' cosignatures are served by
 * `GET /v1/log/checkpoint`). A file is written whole under `.incoming/`, flushed to disk, then linked
 * to its name (`link` refuses a name that exists: created once), read-only, never rewritten nor
 * deleted: a file already there with other bytes is reported, not replaced. A reader never sees a
 * half-written file, and a crash mid-write leaves no empty checkpoint that would later conflict.
 */
export class CheckpointDirectory {
  constructor(readonly dir: string) {}

  private get incoming(): string {
    return join(this.dir, '.incoming');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // What a crash left half-written is not published: written again from the log.
    await rm(this.incoming, { recursive: true, force: true });
    await mkdir(this.incoming);
  }

  /** The largest tree size published here (0: none). */
  async publishedUpTo(): Promise<number> {
    const names = await readdir(this.dir);
    return names.filter((n) => /^[1-9]\d*$/.test(n)).reduce((max, n) => Math.max(max, Number(n)), 0);
  }

  /** Writes the checkpoints not yet here; those already here must be byte for byte the same. */
  async publish(checkpoints: readonly StoredCheckpoint[]): Promise<number[]> {
    const written: number[] = [];
    for (const c of checkpoints) {
      const path = join(this.dir, String(c.size));
      const draft = join(this.incoming, `${c.size}-${process.pid}`);
      try {
        await mkdir(this.incoming, { recursive: true });
        const file = await open(draft, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o444);
        try {
          await file.writeFile(c.signedNote, 'utf8');
          await file.sync();
        } finally {
          await file.close();
        }
        try {
          await link(draft, path);
        } finally {
          await unlink(draft);
        }
        written.push(c.size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const there = await readFile(path, 'utf8');
        if (there !== c.signedNote) {
          throw new CheckpointDirectoryConflictError(
            `le répertoire de publication contient déjà un point de contrôle de taille ${c.size} différent de celui signé (${path}) : il n’est pas remplacé`,
            { path, size: c.size },
          );
        }
      }
    }
    if (written.length > 0) {
      // The directory entries too, so that a crash does not lose a published name.
      const d = await open(this.dir, constants.O_RDONLY);
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    }
    return written;
  }
}

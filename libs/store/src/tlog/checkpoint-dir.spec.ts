import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointDirectory, CheckpointDirectoryConflictError } from './checkpoint-dir';
import type { StoredCheckpoint } from './log';

const checkpoint = (size: number, root = 'A'): StoredCheckpoint => ({
  size,
  rootHash: Buffer.alloc(32),
  signedNote: `forfait-structure.localhost/log\n${size}\n${root.repeat(43)}=\n\n— forfait-structure.localhost/log AAAA${size}\n`,
  signedAt: '2024-01-20T09:00:00.000Z',
  cosignatures: [],
});

describe('issue 15.3: the checkpoint publication directory is append-only', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'forfait-checkpoints-')), 'published');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('writes each signed checkpoint once, one read-only file per tree size, and says how far it got', async () => {
    const d = new CheckpointDirectory(dir);
    await d.init();
    expect(await d.publishedUpTo()).toBe(0);
    expect(await d.publish([checkpoint(3), checkpoint(10)])).toEqual([3, 10]);
    expect(readdirSync(dir).sort()).toEqual(['.incoming', '10', '3']);
    expect(readdirSync(join(dir, '.incoming'))).toEqual([]);
    expect(readFileSync(join(dir, '10'), 'utf8')).toBe(checkpoint(10).signedNote);
    expect(statSync(join(dir, '3')).mode & 0o777).toBe(0o444);
    expect(await d.publishedUpTo()).toBe(10);
    // The same checkpoints again (a replay, another process): nothing rewritten.
    expect(await d.publish([checkpoint(10), checkpoint(12)])).toEqual([12]);
  });

  it('never replaces a file: another checkpoint of a size already published is refused, and the file stays as it was', async () => {
    const d = new CheckpointDirectory(dir);
    await d.init();
    await d.publish([checkpoint(5)]);
    const before = readFileSync(join(dir, '5'), 'utf8');
    await expect(d.publish([checkpoint(5, 'B')])).rejects.toThrow(CheckpointDirectoryConflictError);
    expect(readFileSync(join(dir, '5'), 'utf8')).toBe(before);
    // Even one edited by hand is reported, not silently "repaired".
    chmodSync(join(dir, '5'), 0o644);
    writeFileSync(join(dir, '5'), 'edited');
    await expect(d.publish([checkpoint(5)])).rejects.toThrow(/différent de celui signé/);
    expect(readFileSync(join(dir, '5'), 'utf8')).toBe('edited');
  });
});

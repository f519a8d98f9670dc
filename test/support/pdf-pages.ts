import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** In CI (.ci/run) a missing local tool fails the test; elsewhere it is skipped with a warning. */
export const REQUIRE_TOOLS = process.env.REQUIRE_TOOLS === '1';

/**
 * A child process run without blocking this process' event loop (the API under test may run in
 * it). A program that is not installed is said by `error`, as spawnSync would.
 */
export function spawnAsync(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve({ status: null, stdout, stderr, error }) : reject(error)));
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Whether the local tools are there (poppler's pdftoppm, zbar's zbarimg): when one is missing, a
 * warning and false, or, with REQUIRE_TOOLS=1, an error.
 */
export async function toolsPresent(tools: { cmd: string; args: string[]; pkg: string }[]): Promise<boolean> {
  for (const { cmd, args, pkg } of tools) {
    const probe = await spawnAsync(cmd, args);
    if (probe.error) {
      const message = `${cmd} absent (${probe.error.message}): apt-get install ${pkg}`;
      if (REQUIRE_TOOLS) throw new Error(`REQUIRE_TOOLS=1: ${message}`);
      console.warn(`not checked: ${message}`);
      return false;
    }
  }
  return true;
}

/** The text of each page (pdf.js), white space folded as a reader reads it. */
export async function pageTexts(data: Buffer): Promise<string[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- pdf.js 3's legacy build is CommonJS only
  const pdfjs = require('pdfjs-dist/legacy/build/pdf.js') as {
    getDocument(o: object): {
      destroy(): Promise<void>;
      promise: Promise<{ numPages: number; getPage(n: number): Promise<{ getTextContent(): Promise<{ items: { str: string; hasEOL?: boolean }[] }> }> }>;
    };
  };
  const task = pdfjs.getDocument({
    data: new Uint8Array(data),
    disableWorker: true,
    verbosity: 0,
    standardFontDataUrl: join(__dirname, '..', '..', 'node_modules', 'pdfjs-dist', 'standard_fonts') + '/',
  });
  try {
    const doc = await task.promise;
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n += 1) {
      const content = await (await doc.getPage(n)).getTextContent();
      pages.push(
        content.items
          .map((i) => i.str + (i.hasEOL ? '\n' : ''))
          .join('')
          .replace(/\s+/g, ' '),
      );
    }
    return pages;
  } finally {
    await task.destroy();
  }
}

/** Every page rendered to PNG (pdftoppm, 200 dpi) and its QR codes read (zbarimg): one list per page. */
export async function qrCodesPerPage(data: Buffer, pages: number): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'forfait-pdf-pages-'));
  try {
    const source = join(dir, 'document.pdf');
    writeFileSync(source, data);
    const codes: string[][] = [];
    for (let n = 1; n <= pages; n += 1) {
      const png = join(dir, `page-${n}`);
      const rendered = await spawnAsync('pdftoppm', ['-png', '-gray', '-r', '200', '-f', String(n), '-l', String(n), '-singlefile', source, png]);
      if (rendered.status !== 0) throw new Error(`pdftoppm, page ${n}: ${rendered.stderr}`);
      // zbarimg exits 4 when it finds no symbol: an empty list, which the caller's expectation names.
      const read = await spawnAsync('zbarimg', ['-q', '--raw', '-Sdisable', '-Sqrcode.enable', `${png}.png`]);
      codes.push(read.stdout.split('\n').filter((l) => l !== ''));
    }
    return codes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What every page of a caisse's document carries (issue 18.7): the header (the caisse, the title,
 * the reference), the footer (reference, which hash, page x/y, the hash), checked page by page.
 */
export function expectFramedPages(pages: string[], frame: { title: string; reference: string; hashOf: string; sha256: string }): void {
  expect(pages.length).toBeGreaterThan(0);
  pages.forEach((text, i) => {
    const where = { page: i + 1 };
    expect({ ...where, header: text.includes(`Assurance Maladie — ${frame.title} Référence ${frame.reference}`) }).toEqual({ ...where, header: true });
    expect({
      ...where,
      footer: text.includes(`Référence ${frame.reference} — empreinte SHA-256 ${frame.hashOf} : page ${i + 1}/${pages.length} ${frame.sha256}`),
    }).toEqual({ ...where, footer: true });
  });
}

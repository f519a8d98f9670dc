import { contentSha256, recapPdf, type Recap } from '../apps/api/src/audit/pdf';
import { expectFramedPages, pageTexts, qrCodesPerPage, toolsPresent } from './support/pdf-pages';

// A récapitulatif long enough to run over several pages: each page stands alone (issue 18.7), its
// header, its footer with page x/y and the hash of the content (computed here from the content, not
// read back from the PDF), and a QR code of the reference and that hash, rendered and read.
describe('every page of a caisse document', () => {
  it('carries the header, the footer with page x/y and the hash, and a QR code of the reference and the hash', async () => {
    const line = {
      indicator: 'V2_CODAGE',
      label: 'Capacité à coder des données médicales',
      value: 'oui',
      attestation: true,
      effectiveAt: '2024-01-15T09:00:00Z',
      recordedAt: '2024-01-15T09:00:00Z',
      channel: 'amelipro',
      corrections: 0,
      afterTransmission: false,
    };
    const recap: Recap = {
      rpps: '10000000017',
      year: 2023,
      reference: 'RC-2023-10000000017-20240201100000',
      doctor: { name: 'Claire Martin', specialty: 'medecine-generale', caisse: '751', department: '75' },
      lines: Array.from({ length: 60 }, (_, i) => ({ ...line, corrections: i % 3 })),
      transmittedAt: '2024-01-20T09:00:00Z',
      generatedAt: '2024-02-01T09:00:00Z',
    };
    const pdf = await recapPdf(recap);
    const sha256 = contentSha256(recap);
    const pages = await pageTexts(pdf);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expectFramedPages(pages, { title: 'Récapitulatif forfait structure 2023', reference: recap.reference, hashOf: 'du contenu (JSON RFC 8785)', sha256 });
    // The table's header row is repeated on every page it runs over.
    for (const text of pages) expect(text).toContain('Indicateur Déclaré Attesté sur l’honneur Le (heure de Paris) Canal et remarques');
    if (
      await toolsPresent([
        { cmd: 'pdftoppm', args: ['-v'], pkg: 'poppler-utils' },
        { cmd: 'zbarimg', args: ['--version'], pkg: 'zbar-tools' },
      ])
    ) {
      expect(await qrCodesPerPage(pdf, pages.length)).toEqual(pages.map(() => [`${recap.reference} sha256:${sha256}`]));
    }
  });
});

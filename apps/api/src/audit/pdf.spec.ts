import { join } from 'node:path';
import { dateFr, eurosFr, pointsFr, readable, recapPdf } from './pdf';

async function pdfText(data: Buffer): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pdfjs = require('pdfjs-dist/legacy/build/pdf.js') as {
    getDocument(o: object): {
      promise: Promise<{ numPages: number; getPage(n: number): Promise<{ getTextContent(): Promise<{ items: { str: string }[] }> }> }>;
    };
  };
  const doc = await pdfjs.getDocument({
    data: new Uint8Array(data),
    disableWorker: true,
    verbosity: 0,
    standardFontDataUrl: join(__dirname, '..', '..', '..', '..', 'node_modules', 'pdfjs-dist', 'standard_fonts') + '/',
  }).promise;
  let out = '';
  for (let n = 1; n <= doc.numPages; n += 1) out += (await (await doc.getPage(n)).getTextContent()).items.map((i) => i.str).join(' ') + ' ';
  return out.replace(/\s+/g, ' ');
}

describe('the French of the caisse’s documents', () => {
  it('writes dates in Paris time, amounts that do not break, and points in the singular below 2', () => {
    expect(dateFr('2024-01-20T09:00:00Z')).toBe('20/01/2024 10:00 (heure de Paris)');
    expect(dateFr('2024-07-01T08:30:00Z')).toBe('01/07/2024 10:30 (heure de Paris)');
    expect(eurosFr(497_901)).toBe('4\u00a0979,01\u00a0€');
    expect(eurosFr(-84_000)).toBe('-840,00\u00a0€');
    expect([0, 1, 1.5, 2, 22.5].map(pointsFr)).toEqual(['0\u00a0point', '1\u00a0point', '1,5\u00a0point', '2\u00a0points', '22,5\u00a0points']);
  });

  it('shows reasons without ISO dates, slugs or ">="', () => {
    expect(readable('horaires affichés du 2023-11-20, spécialité medecine-generale, taux >= 2/3, 0 points')).toBe(
      'horaires affichés du 20/11/2023, spécialité médecine générale, taux ≥ 2/3, 0 point',
    );
    expect(readable('notifié le 2024-09-02T07:00:00.000Z')).toBe('notifié le 02/09/2024 09:00 (heure de Paris)');
    expect(readable('prise en charge coordonnée')).toBe('prise en charge coordonnée');
    expect(readable('LAP E N LAP (certification definitive) ; liste segurSolutions non chargée, liste hasLap non chargée')).toBe(
      'LAP E N LAP (certification définitive) ; liste des solutions référencées Ségur non chargée, liste des LAP certifiés HAS non chargée',
    );
    expect(readable('département non vérifié : sasDepartements, liste non chargée')).toBe(
      'département non vérifié : liste des départements où le SAS est déployé non chargée',
    );
  });

  it('marks the declarations made after "Transmettre" in the récapitulatif, with its reference and hash', async () => {
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
    const text = await pdfText(
      await recapPdf({
        rpps: '10000000017',
        year: 2023,
        reference: 'RC-2023-10000000017-20240201100000',
        doctor: { name: 'Claire Martin', specialty: 'medecine-generale', caisse: '751', department: '75' },
        lines: [
          line,
          {
            ...line,
            indicator: 'V2_VIDEO',
            label: 'Équipement de vidéotransmission',
            recordedAt: '2024-01-25T09:00:00Z',
            effectiveAt: '2024-01-25T09:00:00Z',
            corrections: 1,
            afterTransmission: true,
          },
        ],
        transmittedAt: '2024-01-20T09:00:00Z',
        generatedAt: '2024-02-01T09:00:00Z',
      }),
    );
    expect(text).toContain('transmise le 20/01/2024 10:00 (heure de Paris)');
    expect(text).toContain('Caisse CPAM de Paris (751)');
    expect(text).toContain('Médecin Claire Martin — RPPS 10000000017 — médecine générale, département 75');
    expect(text).toMatch(/via amelipro, après 1 correction, déclaré après « Transmettre »/);
    expect(text.match(/déclaré après « Transmettre »/g)).toHaveLength(1);
    expect(text).toMatch(/Référence RC-2023-10000000017-20240201100000/);
    expect(text).toMatch(/page 1\/1 [0-9a-f]{64}/);
  });

  it('names a caisse the referential does not name by its department, and a doctor without a name by RPPS', async () => {
    const text = await pdfText(
      await recapPdf({
        rpps: '10000000017',
        year: 2023,
        reference: 'RC-x',
        doctor: { specialty: 'cardiologie', caisse: '592', department: '59' },
        lines: [],
        transmittedAt: null,
        generatedAt: '2024-02-01T09:00:00Z',
      }),
    );
    expect(text).toContain('Caisse caisse 592 (Nord)');
    expect(text).toContain('Médecin RPPS 10000000017 — cardiologie, département 59');
  });
});

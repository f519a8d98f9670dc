import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import { caisseLabel, canonicalJson } from '@forfait/events';
import { formatDate, formatParisInstant, specialtyLabel } from '@forfait/domain';
import type { AuditBundle, BundleControl } from './bundle';
import { qrMatrix } from './qr';

/** The caisse's words for the events (French labels of the audit documents). */
export const EVENT_LABELS: Record<string, string> = {
  CampaignOpened: 'Ouverture de la campagne',
  CampaignDeadlineExtended: 'Prolongation de la campagne',
  CampaignRuleAmended: 'Amendement de règle',
  CampaignClosed: 'Clôture de la campagne',
  CampaignCalculationCompleted: 'Calcul annuel effectué',
  DoctorProfileRecorded: 'Profil du médecin',
  IndicatorPrefilled: 'Pré-remplissage',
  IndicatorDeclared: 'Déclaration',
  DeclarationTransmitted: 'Transmission de la déclaration',
  MeasureRecorded: 'Mesure automatisée',
  JustificatifSubmitted: 'Justificatif transmis',
  JustificatifValidated: 'Justificatif validé par la CPAM',
  JustificatifRejected: 'Justificatif rejeté par la CPAM',
  EntitlementCalculated: 'Calcul de la rémunération',
  PaymentRecorded: 'Paiement',
  ControlOpened: 'Ouverture du contrôle a posteriori',
  ControlEvidenceRequested: 'Demande de pièces justificatives',
  ControlFindingRecorded: 'Constat du contrôle',
  ControlClosed: 'Clôture du contrôle et notification',
  ContestationFiled: 'Recours amiable du médecin',
  ContestationDecided: 'Décision sur le recours',
  StaffReadRecorded: 'Consultation du dossier',
  SasAttestationReceived: 'Attestation SAS du président de CPTS reçue',
  SasAttestationValidated: 'Attestation SAS validée par la CPAM',
  SasAttestationRejected: 'Attestation SAS rejetée par la CPAM',
  SasAttestationDecisionLinked: 'Décision sur une attestation SAS de CPTS',
};

/** How a declaration came in: a channel is a way, not a person ("via amelipro"). */
const CHANNELS: Record<string, string> = {
  amelipro: 'via amelipro',
  paper: 'sur formulaire papier',
  'back-office': 'saisie par la CPAM',
  import: 'par import',
  system: 'par le système',
};
const channelFr = (c: string) => CHANNELS[c] ?? c;
const ROLES: Record<string, string> = {
  doctor: 'médecin',
  agent: 'agent CPAM',
  controller: 'contrôleur CPAM',
  auditor: 'auditeur',
  admin: 'administrateur',
  system: 'système',
  witness: 'témoin',
};

const NBSP = '\u00a0';
/** "20/01/2024 10:00": an instant in Europe/Paris (the time zone is said once per table, or by dateFr). */
export const dateTimeParis = (iso: string | null | undefined) => (iso ? formatParisInstant(iso) : '—');
/** "20/01/2024 10:00 (heure de Paris)" */
export const dateFr = (iso: string | null | undefined) => (iso ? `${dateTimeParis(iso)} (heure de Paris)` : '—');
/** "4 979,01 €", never broken across lines. */
export const eurosFr = (cents: number) =>
  `${cents < 0 ? '-' : ''}${(Math.abs(cents) / 100).toLocaleString('fr-FR', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).replace(/[\u202f\u00a0 ]/g, NBSP)}${NBSP}€`;
const pointsNumber = (p: number) => p.toLocaleString('fr-FR', { maximumFractionDigits: 3 }).replace(/[\u202f\u00a0 ]/g, NBSP);
/** "0 point", "1,5 point", "2 points" (French: the plural from 2). */
export const pointsFr = (p: number) => `${pointsNumber(p)}${NBSP}point${Math.abs(p) >= 2 ? 's' : ''}`;

/** The caisse's names of its reference lists and of a LAP's certification, for reasons read by people. */
const LIST_LABELS: Record<string, string> = {
  coordinationModalities: 'des modalités de coordination',
  servicesModalities: 'des services aux patients',
  connectedDevices: 'des équipements connectés',
  lapExemptSpecialties: 'des spécialités exonérées de LAP',
  dcmtNeutralisedSpecialties: 'des spécialités neutralisées pour la DCMT',
  sasDepartements: 'des départements où le SAS est déployé',
  sasSoftware: 'des logiciels SAS',
  segurSolutions: 'des solutions référencées Ségur',
  hasLap: 'des LAP certifiés HAS',
};
const CERTIFICATIONS: Record<string, string> = {
  definitive: 'certification définitive',
  provisional: 'certification provisoire',
  'older-referentiel': 'certifié sur un référentiel antérieur',
};

/** A reason as people read it: dates in French, slugs and list names as labels, ≥ and ≤ as signs, "0 point". */
export function readable(text: string): string {
  return text
    .replace(/certification (definitive|provisional|older-referentiel)\b/g, (_, kind: string) => CERTIFICATIONS[kind]!)
    .replace(/\bliste (\w+) non chargée/g, (whole, name: string) => (LIST_LABELS[name] ? `liste ${LIST_LABELS[name]} non chargée` : whole))
    .replace(/: (\w+), liste non chargée/g, (whole, name: string) => (LIST_LABELS[name] ? `: liste ${LIST_LABELS[name]} non chargée` : whole))
    .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})\b/g, (iso) => dateFr(iso))
    .replace(/\b\d{4}-\d{2}-\d{2}\b/g, (d) => formatDate(d))
    .replace(/\b[a-z]+(?:-[a-z]+)+\b/g, (slug) => (specialtyLabel(slug) !== slug.replaceAll('-', ' ') ? specialtyLabel(slug) : slug))
    .replace(/>=/g, '≥')
    .replace(/<=/g, '≤')
    .replace(/\b([01](?:,\d+)?) points\b/g, '$1 point');
}

/** SHA-256 of the RFC 8785 JSON of a value, lowercase hex: the hash printed on a document. */
export function contentSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

/**
 * Fonts: DejaVu (≥, ≤, →, narrow spaces) where the system has it (the image installs
 * fonts-dejavu-core; PDF_FONT_DIR overrides); else the standard Helvetica, whose WinAnsi lacks ≥.
 */
const FONT_DIRS = [process.env.PDF_FONT_DIR, '/usr/share/fonts/truetype/dejavu'].filter((d): d is string => !!d);
function fontFiles(): { regular: string; bold: string; mono: string } | null {
  for (const dir of FONT_DIRS) {
    const f = { regular: `${dir}/DejaVuSans.ttf`, bold: `${dir}/DejaVuSans-Bold.ttf`, mono: `${dir}/DejaVuSansMono.ttf` };
    if (existsSync(f.regular) && existsSync(f.bold) && existsSync(f.mono)) return f;
  }
  return null;
}
function winAnsi(text: string): string {
  return text
    .replace(/≥/g, '>=')
    .replace(/≤/g, '<=')
    .replace(/→/g, '->')
    .replace(/\u202f/g, NBSP)
    .replace(/[✔✘]/g, '')
    .replace(/\u2014 /g, '- ');
}

interface Column {
  header: string;
  width: number;
  align?: 'left' | 'right';
  mono?: boolean;
}

const MARGIN = 48;
const HEADER_Y = 20;
const SIZE = 8.5;
/** The footer's band under the content: its text, and the QR code (58 pt, about 2 cm printed). */
const QR_SIDE = 58;
const FOOTER_HEIGHT = QR_SIDE + 30;

/** A document of the caisse: header and footer on every page (reference, hash, page x/y), headings, tables. */
class CaisseDocument {
  readonly doc: PDFKit.PDFDocument;
  private readonly unicode: boolean;
  private readonly width: number;

  constructor(
    info: { Title: string; Subject: string },
    private readonly frame: { title: string; reference: string; sha256: string; hashOf: string },
  ) {
    this.doc = new PDFDocument({
      size: 'A4',
      margins: { top: MARGIN + 10, bottom: FOOTER_HEIGHT + 6, left: MARGIN, right: MARGIN },
      bufferPages: true,
      info: { ...info, Author: 'Assurance Maladie — forfait structure', Producer: 'forfait-structure' },
    });
    const fonts = fontFiles();
    this.unicode = fonts !== null;
    if (fonts) {
      this.doc.registerFont('regular', fonts.regular);
      this.doc.registerFont('bold', fonts.bold);
      this.doc.registerFont('mono', fonts.mono);
    } else {
      this.doc.registerFont('regular', 'Helvetica');
      this.doc.registerFont('bold', 'Helvetica-Bold');
      this.doc.registerFont('mono', 'Courier');
    }
    this.width = this.doc.page.width - 2 * MARGIN;
    this.doc.font('regular').fontSize(SIZE);
  }

  s(text: string): string {
    return this.unicode ? text : winAnsi(text);
  }

  title(text: string): void {
    this.doc
      .font('bold')
      .fontSize(15)
      .text(this.s(text), MARGIN, this.doc.y + 4, { width: this.width })
      .font('regular')
      .fontSize(SIZE);
    this.doc.moveDown(0.4);
  }

  /** What the QR code of every page says: the reference and the document's SHA-256. */
  get qrText(): string {
    return `${this.frame.reference} sha256:${this.frame.sha256}`;
  }

  heading(text: string): void {
    if (this.doc.y > this.doc.page.height - this.doc.page.margins.bottom - 60) this.doc.addPage();
    this.doc
      .moveDown(0.7)
      .font('bold')
      .fontSize(11)
      .fillColor('#003a70')
      .text(this.s(text), MARGIN, this.doc.y)
      .fillColor('black')
      .font('regular')
      .fontSize(SIZE)
      .moveDown(0.3);
  }

  para(text: string, options: { bold?: boolean; mono?: boolean; size?: number } = {}): void {
    this.doc
      .font(options.mono ? 'mono' : options.bold ? 'bold' : 'regular')
      .fontSize(options.size ?? SIZE)
      .text(this.s(text), MARGIN, this.doc.y, { width: this.width })
      .font('regular')
      .fontSize(SIZE);
  }

  /** Two columns, label and value. */
  pairs(rows: [string, string][], labelWidth = 150): void {
    this.table(
      [
        { header: '', width: labelWidth },
        { header: '', width: this.width - labelWidth },
      ],
      rows,
      { headless: true, boldFirst: true },
    );
  }

  /** A table with ruled cells; a row may span every column (`{ span }`); the header repeats on every page. */
  table(
    columns: Column[],
    rows: (string[] | { span: string; mono?: boolean; size?: number })[],
    options: { headless?: boolean; boldFirst?: boolean } = {},
  ): void {
    const doc = this.doc;
    const pad = 3;
    const total = columns.reduce((n, c) => n + c.width, 0);
    const scale = this.width / total;
    const widths = columns.map((c) => c.width * scale);
    const bottom = () => doc.page.height - doc.page.margins.bottom;
    const heightOf = (cells: string[], font: (i: number) => string) =>
      Math.max(
        ...cells.map((cell, i) =>
          doc
            .font(font(i))
            .fontSize(SIZE)
            .heightOfString(this.s(cell), { width: widths[i]! - 2 * pad }),
        ),
      ) +
      2 * pad;
    const draw = (cells: string[], font: (i: number) => string, fill?: string) => {
      const h = heightOf(cells, font);
      if (doc.y + h > bottom()) {
        doc.addPage();
        if (!options.headless && cells !== headerCells) draw(headerCells, () => 'bold', '#e8eef5');
      }
      const y = doc.y;
      let x = MARGIN;
      cells.forEach((cell, i) => {
        if (fill) doc.rect(x, y, widths[i]!, h).fill(fill).fillColor('black');
        doc.rect(x, y, widths[i]!, h).lineWidth(0.4).strokeColor('#8a9bb0').stroke();
        doc
          .font(font(i))
          .fontSize(SIZE)
          .text(this.s(cell), x + pad, y + pad, { width: widths[i]! - 2 * pad, align: columns[i]!.align ?? 'left' });
        x += widths[i]!;
      });
      doc.x = MARGIN;
      doc.y = y + h;
    };
    const headerCells = columns.map((c) => c.header);
    if (!options.headless) draw(headerCells, () => 'bold', '#e8eef5');
    for (const row of rows) {
      if (Array.isArray(row)) draw(row, (i) => (options.boldFirst && i === 0 ? 'bold' : columns[i]!.mono ? 'mono' : 'regular'));
      else {
        const font = row.mono ? 'mono' : 'regular';
        const size = row.size ?? SIZE;
        const h =
          doc
            .font(font)
            .fontSize(size)
            .heightOfString(this.s(row.span), { width: this.width - 2 * pad }) +
          2 * pad;
        if (doc.y + h > bottom()) doc.addPage();
        const y = doc.y;
        doc.rect(MARGIN, y, this.width, h).lineWidth(0.4).strokeColor('#8a9bb0').stroke();
        doc
          .font(font)
          .fontSize(size)
          .text(this.s(row.span), MARGIN + pad, y + pad, { width: this.width - 2 * pad });
        doc.x = MARGIN;
        doc.y = y + h;
      }
    }
    doc.font('regular').fontSize(SIZE).moveDown(0.4);
  }

  /** The QR code of the reference and the hash, its quiet zone (4 modules) inside `QR_SIDE`. */
  private qrCode(x: number, y: number): void {
    const matrix = qrMatrix(this.qrText);
    const module = QR_SIDE / (matrix.length + 8);
    matrix.forEach((row, r) => row.forEach((on, c) => on && this.doc.rect(x + (c + 4) * module, y + (r + 4) * module, module, module).fill('black')));
  }

  /** Header and footer on every page, then the bytes. */
  end(): Promise<Buffer> {
    const doc = this.doc;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      doc.on('data', (c: Buffer) => chunks.push(c));
      doc.on('end', () => resolve(Buffer.concat(chunks)));
      doc.on('error', reject);
      const range = doc.bufferedPageRange();
      for (let i = 0; i < range.count; i += 1) {
        doc.switchToPage(range.start + i);
        const { top, bottom } = doc.page.margins;
        doc.page.margins.top = 0;
        doc.page.margins.bottom = 0;
        doc.font('regular').fontSize(7).fillColor('#444444');
        doc.text(this.s(`Assurance Maladie — ${this.frame.title}`), MARGIN, HEADER_Y, { width: this.width * 0.6, lineBreak: false });
        doc.text(this.s(`Référence ${this.frame.reference}`), MARGIN + this.width * 0.6, HEADER_Y, {
          width: this.width * 0.4,
          align: 'right',
          lineBreak: false,
        });
        doc
          .moveTo(MARGIN, HEADER_Y + 11)
          .lineTo(MARGIN + this.width, HEADER_Y + 11)
          .lineWidth(0.4)
          .strokeColor('#8a9bb0')
          .stroke();
        // The footer: reference, page x/y and hash on the left, their QR code on the right, so that a
        // page separated from the others still says which document it belongs to (issue 18.7).
        const fy = doc.page.height - FOOTER_HEIGHT + 8;
        const textWidth = this.width - QR_SIDE - 8;
        doc
          .moveTo(MARGIN, fy - 4)
          .lineTo(MARGIN + this.width, fy - 4)
          .lineWidth(0.4)
          .strokeColor('#8a9bb0')
          .stroke();
        doc.text(this.s(`Référence ${this.frame.reference} — empreinte SHA-256 ${this.frame.hashOf} :`), MARGIN, fy, { width: textWidth, lineBreak: false });
        doc.font('bold').text(`page ${i + 1}/${range.count}`, MARGIN, fy + 20, { width: textWidth, lineBreak: false });
        doc
          .font('mono')
          .fontSize(7)
          .text(this.frame.sha256, MARGIN, fy + 10, { width: textWidth, lineBreak: false });
        doc.fillColor('black');
        this.qrCode(MARGIN + this.width - QR_SIDE, fy);
        doc.page.margins.top = top;
        doc.page.margins.bottom = bottom;
      }
      doc.end();
    });
  }
}

/** The caisse by its name in the CPAM referential (libs/events), with its code: "CPAM de Paris (751)". */
function caisseOf(caisse: string | undefined): string {
  return caisse ? caisseLabel(caisse) : 'caisse non renseignée';
}

/** "Claire Martin — RPPS 10000000017 — médecine générale, département 44"; the name only when the profile has one. */
function doctorOf(rpps: string, doctor: { name?: string; specialty: string; department: string } | null): string {
  return [doctor?.name, `RPPS ${rpps}`, doctor ? `${specialtyLabel(doctor.specialty)}, département ${doctor.department}` : undefined]
    .filter(Boolean)
    .join(' — ');
}

const notificationFr = (n: string) => (n === 'recovery' ? 'indu à recouvrer' : n === 'complement' ? 'complément à verser' : 'sans incidence financière');

function controlRows(c: BundleControl): [string, string][] {
  const rows: [string, string][] = [
    ['Contrôle', c.controlId],
    ['Motif d’ouverture', c.reason ? readable(c.reason) : '—'],
    ['Indicateurs contrôlés', c.indicators.join(', ')],
    ['Ouvert le', dateFr(c.openedAt)],
    ['Clos le', c.status === 'closed' ? dateFr(c.closedAt) : 'en cours'],
  ];
  for (const f of c.findingsDetail)
    rows.push([
      `Constat ${f.indicator}`,
      `${f.outcome === 'invalidated' ? 'invalidé' : 'confirmé'} le ${dateFr(f.recordedAt)} — motif : ${readable(f.reason)}`,
    ]);
  if (c.findingsDetail.length === 0) rows.push(['Constats', 'aucun constat']);
  if (c.status === 'closed') {
    rows.push(['Notification', notificationFr(c.notification)]);
    if (c.closure) {
      const { paidCents, recomputedAmountCents, balanceCents } = c.closure;
      const what = balanceCents < 0 ? `indu de ${eurosFr(-balanceCents)}` : balanceCents > 0 ? `complément de ${eurosFr(balanceCents)}` : 'aucun écart';
      rows.push([
        'Calcul',
        `montant recalculé ${eurosFr(recomputedAmountCents)} − montant versé ${eurosFr(paidCents)} = ${eurosFr(balanceCents)}, soit ${what}`,
      ]);
    }
    rows.push(['Recours amiable possible jusqu’au', dateFr(c.contestationUntil)]);
    if (c.contestation) {
      rows.push([
        'Recours',
        c.contestation.status === 'filed'
          ? `déposé le ${dateFr(c.contestation.filedAt)}, en attente de décision`
          : `déposé le ${dateFr(c.contestation.filedAt)}, décidé le ${dateFr(c.contestation.decidedAt)} : ${c.contestation.outcome === 'reversed' ? 'constats annulés' : 'constats maintenus'}`,
      ]);
    } else rows.push(['Recours', 'aucun']);
  }
  return rows;
}

const attachmentName = (bundle: AuditBundle) => `dossier-audit-${bundle.rpps}-${bundle.year}.json`;

/** The audit bundle as a document a controller signs: entitlement, why each euro, payments, timeline, controls, integrity, events. */
export function auditBundlePdf(bundle: AuditBundle): Promise<Buffer> {
  const sha256 = contentSha256(bundle);
  const d = new CaisseDocument(
    { Title: `Dossier d'audit ${bundle.rpps} ${bundle.year}`, Subject: 'Forfait structure' },
    { title: `Dossier d’audit — forfait structure ${bundle.year}`, reference: bundle.reference, sha256, hashOf: 'du dossier JSON signé (RFC 8785)' },
  );
  // The signed JSON travels with the paper: the hash in the footer is that of this attachment.
  d.doc.file(Buffer.from(JSON.stringify(bundle), 'utf8'), {
    name: attachmentName(bundle),
    type: 'application/json',
    description: 'Dossier d’audit signé (JSON, format forfait-structure-audit-bundle/2)',
  });
  d.title(`Dossier d'audit — Forfait structure ${bundle.year}`);
  d.pairs([
    ['Caisse', caisseOf(bundle.doctor?.caisse)],
    ['Médecin', doctorOf(bundle.rpps, bundle.doctor)],
    ['Référentiel', bundle.ruleset ? `${bundle.ruleset.id} version ${bundle.ruleset.version}` : '—'],
    ['Empreinte du référentiel', bundle.ruleset?.hash ?? '—'],
    ['Situation connue au', dateFr(bundle.knownAt)],
    ['Document établi le', `${dateFr(bundle.generatedAt)} par ${bundle.generatedBy}`],
    ['Référence du document', bundle.reference],
  ]);

  const e = bundle.entitlement;
  d.heading('Rémunération');
  if (!e) d.para('Campagne inconnue à cette date.');
  else {
    d.pairs([
      ['Volet 1 (prérequis)', `${e.volet1.met ? 'atteint' : 'non atteint'} — ${pointsFr(e.volet1.points)}`],
      ['Volet 2', pointsFr(e.volet2.points)],
      ['Total', `${pointsFr(e.totalPoints)} (valeur exacte ${e.totalPointsExact}) soit ${eurosFr(e.amountCents)}`],
      ['Montant versé', eurosFr(e.paidCents)],
      ['Solde', `${eurosFr(e.balanceCents)}${e.balanceCents < 0 ? ' (indu à recouvrer)' : e.balanceCents > 0 ? ' (complément à verser)' : ''}`],
    ]);
  }

  d.heading('Paiements');
  if (bundle.payments.length === 0) d.para('Aucun paiement enregistré.');
  else
    d.table(
      [
        { header: 'Date du paiement', width: 90 },
        { header: 'Référence', width: 140 },
        { header: 'Montant', width: 80, align: 'right' },
        { header: 'Enregistré le (heure de Paris)', width: 110 },
      ],
      bundle.payments.map((p) => [formatDate(p.paidAt.slice(0, 10)), p.reference ?? '—', eurosFr(p.amountCents), dateTimeParis(p.recordedAt)]),
    );

  d.heading('Détail par indicateur (motif, règle et pièces)');
  d.table(
    [
      { header: 'Indicateur', width: 150 },
      { header: 'Résultat', width: 60 },
      { header: 'Points', width: 66, align: 'right' },
      { header: 'Montant', width: 62, align: 'right' },
      { header: 'Motif, règle et pièces', width: 190 },
    ],
    bundle.explanation.indicators.map((i) => {
      const sources = i.rule.provenance.map((p) => `${p.ref}${p.note ? ` (${p.note})` : ''}`).join(' ; ');
      const pieces = i.evidence.map((ev) => `${EVENT_LABELS[ev.type ?? ''] ?? ev.type ?? 'événement'} du ${dateTimeParis(ev.recordedAt)}`).join(' ; ');
      return [
        `${i.code} — ${i.label}`,
        i.met ? 'atteint' : 'non atteint',
        i.volet === 2 ? pointsFr(i.points) : '—',
        i.volet === 2 ? eurosFr(Math.round((i.euros ?? 0) * 100)) : '—',
        [`Motif : ${readable(i.reason)}`, sources ? `Règle : ${readable(sources)}` : '', pieces ? `Pièces (heure de Paris) : ${pieces}` : '']
          .filter(Boolean)
          .join('\n'),
      ];
    }),
  );

  d.heading('Chronologie des droits');
  d.table(
    [
      { header: 'Date (heure de Paris)', width: 62 },
      { header: 'Événement', width: 85 },
      { header: 'Total', width: 66, align: 'right' },
      { header: 'Montant', width: 64, align: 'right' },
      { header: 'Solde', width: 64, align: 'right' },
      { header: 'Ce qui change', width: 184 },
    ],
    bundle.timeline.map((step) => [
      dateTimeParis(step.at),
      EVENT_LABELS[step.type] ?? step.type,
      pointsFr(step.totalPoints),
      eurosFr(step.amountCents),
      eurosFr(step.balanceCents),
      step.changed.map((c) => `${c.code} : ${c.met ? 'atteint' : 'non atteint'} — ${readable(c.reason)}`).join('\n') || '—',
    ]),
  );

  d.heading('Contrôles a posteriori et recours');
  if (bundle.controls.length === 0) d.para('Aucun contrôle.');
  for (const c of bundle.controls) d.pairs(controlRows(c), 150);

  d.heading('Intégrité et vérification');
  const log = bundle.log;
  d.pairs([
    [
      'Chaînes d’empreintes',
      `${bundle.verification.ok ? 'Chaînes vérifiées' : 'CHAÎNE ROMPUE'} : ${bundle.verification.events} événements dans ${bundle.verification.streams} flux.`,
    ],
    ['Journal', log.origin],
    [
      'Point de contrôle',
      log.checkpoint
        ? `taille ${log.checkpoint.treeSize}, signé le ${dateFr(log.checkpoint.signedAt)}, ${log.checkpoint.cosignatures} cosignature${log.checkpoint.cosignatures > 1 ? 's' : ''} de témoin`
        : `absent : ${log.reason ?? 'non scellé'}`,
    ],
    ['Preuves d’inclusion', `${log.inclusion.length} (une par événement)`],
  ]);
  const mono = (label: string, value: string, size = 7): [{ span: string }, { span: string; mono: true; size: number }] => [
    { span: label },
    { span: value, mono: true, size },
  ];
  d.table(
    [{ header: '', width: 1 }],
    [
      ...mono('Clé publique du journal (vérifie le point de contrôle et la signature du dossier) :', log.vkey),
      ...mono('Racine de l’arbre de Merkle (base64) :', log.checkpoint?.rootHash ?? '—'),
      ...mono('Signature de la caisse (Ed25519, base64) :', bundle.signature.value),
      ...(log.checkpoint ? mono('Texte du point de contrôle signé (format C2SP tlog-checkpoint) :', log.checkpoint.note.trimEnd(), 5.5) : []),
    ],
    { headless: true },
  );
  d.doc.moveDown(0.5);
  d.para('Comment vérifier ce dossier', { bold: true });
  d.para(
    [
      '1. Chaque événement porte l’empreinte SHA-256 de son contenu (JSON canonique RFC 8785) chaînée à celle de l’événement précédent du même flux ; le premier événement d’un flux est chaîné à 64 zéros.',
      '2. Chaque événement est une feuille d’un arbre de Merkle (RFC 6962) dont la racine est signée par la caisse dans le point de contrôle ci-dessus, cosigné le cas échéant par des témoins indépendants ; la preuve d’inclusion de chaque événement figure dans le dossier JSON.',
      '3. Le dossier JSON entier (montants, motifs, chronologie compris) est signé par la clé du journal (Ed25519 sur le JSON canonique RFC 8785 du dossier sans sa signature).',
      `4. Le dossier JSON signé est joint à ce PDF (pièce jointe « ${attachmentName(bundle)} », que tout lecteur PDF ou « pdfdetach -saveall » extrait). Pour le vérifier sans ce logiciel : obtenir la clé publique de la caisse (GET /v1/log/public-key, ou sa publication), puis lancer « node scripts/verify-bundle.mjs ${attachmentName(bundle)} --vkey <clé publique> » (Node.js seul, sans autre logiciel). Le script indique chaque anomalie, sa nature et son emplacement, et imprime l’empreinte SHA-256 du dossier, qui doit être celle imprimée en pied de page.`,
    ].join('\n'),
  );

  d.heading('Événements');
  const rows: (string[] | { span: string; mono?: boolean; size?: number })[] = [];
  for (const s of bundle.streams) {
    for (const ev of s.events) {
      rows.push([
        dateTimeParis(ev.metadata.recordedAt),
        dateTimeParis(ev.metadata.effectiveAt),
        EVENT_LABELS[ev.type] ?? ev.type,
        `${ROLES[ev.metadata.actor.role] ?? ev.metadata.actor.role} ${ev.metadata.actor.sub}, ${channelFr(ev.metadata.channel)}`,
        `${s.streamId}\nrévision ${ev.revision}, position ${ev.position}`,
      ]);
      rows.push({ span: `empreinte ${ev.hash}`, mono: true, size: 7.5 });
    }
  }
  d.table(
    [
      { header: 'Enregistré (heure de Paris)', width: 62 },
      { header: 'Effet', width: 62 },
      { header: 'Événement', width: 95 },
      { header: 'Auteur et canal', width: 115 },
      { header: 'Flux, révision', width: 165 },
    ],
    rows,
  );
  return d.end();
}

export interface RecapLine {
  indicator: string;
  label: string;
  value: string;
  attestation: boolean;
  effectiveAt: string;
  recordedAt: string;
  channel: string;
  corrections: number;
  /** Declared after the doctor pressed "Transmettre". */
  afterTransmission: boolean;
}

export interface Recap {
  rpps: string;
  year: number;
  reference: string;
  doctor: { name?: string; specialty: string; caisse: string; department: string } | null;
  lines: RecapLine[];
  transmittedAt: string | null;
  generatedAt: string;
}

/** The declaration summary amelipro gives the doctor (guide §III and §V): what was declared, attested, when, how. */
export function recapPdf(recap: Recap): Promise<Buffer> {
  const d = new CaisseDocument(
    { Title: `Récapitulatif ${recap.rpps} ${recap.year}`, Subject: 'Forfait structure' },
    { title: `Récapitulatif forfait structure ${recap.year}`, reference: recap.reference, sha256: contentSha256(recap), hashOf: 'du contenu (JSON RFC 8785)' },
  );
  d.title(`Récapitulatif de la déclaration — Forfait structure ${recap.year}`);
  d.pairs([
    ['Caisse', caisseOf(recap.doctor?.caisse)],
    ['Médecin', doctorOf(recap.rpps, recap.doctor)],
    ['Déclaration', recap.transmittedAt ? `transmise le ${dateFr(recap.transmittedAt)}` : 'non transmise'],
    ['Édité le', dateFr(recap.generatedAt)],
    ['Référence du document', recap.reference],
  ]);
  d.heading('Indicateurs déclarés');
  if (recap.lines.length === 0) d.para('Aucun indicateur déclaré.');
  else
    d.table(
      [
        { header: 'Indicateur', width: 125 },
        { header: 'Déclaré', width: 145 },
        { header: 'Attesté sur l’honneur', width: 62 },
        { header: 'Le (heure de Paris)', width: 66 },
        { header: 'Canal et remarques', width: 112 },
      ],
      recap.lines.map((l) => [
        `${l.label} (${l.indicator})`,
        `Déclaré : ${readable(l.value)}`,
        l.attestation ? 'oui' : 'non',
        dateTimeParis(l.effectiveAt),
        [
          channelFr(l.channel),
          l.corrections > 0 ? `après ${l.corrections} correction${l.corrections > 1 ? 's' : ''}` : '',
          l.afterTransmission ? 'déclaré après « Transmettre »' : '',
        ]
          .filter(Boolean)
          .join(', '),
      ]),
    );
  d.doc.moveDown();
  d.para(
    "Ce récapitulatif des indicateurs ayant fait l'objet de l'attestation sur l'honneur est à conserver, avec les pièces justificatives, en cas de contrôle a posteriori (guide méthodologique 2023, §III et §V).",
  );
  return d.end();
}

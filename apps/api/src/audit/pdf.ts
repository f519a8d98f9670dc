import PDFDocument from 'pdfkit';

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
};

const CHANNELS: Record<string, string> = { amelipro: 'amelipro', paper: 'formulaire papier', 'back-office': 'back office CPAM', import: 'import', system: 'système' };

const paris = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'medium' });
export const dateFr = (iso: string | null | undefined) => (iso ? paris.format(new Date(iso)) : '—');
export const eurosFr = (cents: number) => `${(cents / 100).toLocaleString('fr-FR', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).replace(/\u202f|\u00a0/g, ' ')} €`;
const pointsFr = (p: number) => p.toLocaleString('fr-FR', { maximumFractionDigits: 3 }).replace(/\u202f|\u00a0/g, ' ');

/** The standard PDF fonts speak WinAnsi: a few signs of the reasons are spelled out. */
function winAnsi(text: string): string {
  return text.replace(/≥/g, '>=').replace(/≤/g, '<=').replace(/→/g, '->').replace(/[\u202f\u00a0]/g, ' ').replace(/[✔✘]/g, '');
}

function render(draw: (doc: PDFKit.PDFDocument, t: (s: string, o?: PDFKit.Mixins.TextOptions) => void) => void, info: { Title: string; Subject: string }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 48, info: { ...info, Author: 'Assurance Maladie — forfait structure', Producer: 'forfait-structure' } });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    const t = (s: string, o?: PDFKit.Mixins.TextOptions) => {
      doc.text(winAnsi(s), o);
    };
    draw(doc, t);
    doc.end();
  });
}

const heading = (doc: PDFKit.PDFDocument, text: string) => {
  doc.moveDown(0.8).font('Helvetica-Bold').fontSize(12).text(winAnsi(text)).font('Helvetica').fontSize(9).moveDown(0.3);
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The audit bundle as a readable document: entitlement, why each euro, timeline, controls, integrity, events. */
export function auditBundlePdf(bundle: Json): Promise<Buffer> {
  return render(
    (doc, t) => {
      doc.font('Helvetica-Bold').fontSize(16);
      t(`Dossier d'audit — Forfait structure ${bundle.year}`);
      doc.font('Helvetica').fontSize(9).moveDown(0.5);
      t(`Médecin (RPPS) : ${bundle.rpps}`);
      t(`Référentiel : ${bundle.ruleset ? `${bundle.ruleset.id} version ${bundle.ruleset.version} (empreinte ${String(bundle.ruleset.hash).slice(0, 16)}…)` : '—'}`);
      t(`Situation connue au : ${dateFr(bundle.knownAt)}`);
      t(`Document établi le ${dateFr(bundle.generatedAt)} par ${bundle.generatedBy}`);

      const e = bundle.entitlement as Json | null;
      heading(doc, 'Rémunération');
      if (!e) t('Campagne inconnue à cette date.');
      else {
        t(`Volet 1 (prérequis) : ${e.volet1.met ? 'atteint' : 'non atteint'} — ${pointsFr(e.volet1.points)} points`);
        t(`Volet 2 : ${pointsFr(e.volet2.points)} points`);
        t(`Total : ${pointsFr(e.totalPoints)} points (valeur exacte ${e.totalPointsExact}) soit ${eurosFr(e.amountCents)}`);
        t(`Montant versé : ${eurosFr(e.paidCents)}`);
        t(`Solde : ${eurosFr(e.balanceCents)}${e.balanceCents < 0 ? ' (indu à recouvrer)' : e.balanceCents > 0 ? ' (complément à verser)' : ''}`);
      }

      heading(doc, 'Détail par indicateur (motif et pièces)');
      for (const i of (bundle.explanation?.indicators ?? []) as Json[]) {
        doc.font('Helvetica-Bold');
        t(`${i.code} — ${i.label} : ${i.met ? 'atteint' : 'non atteint'}${i.volet === 2 ? `, ${pointsFr(i.points)} points (${eurosFr(Math.round((i.euros ?? 0) * 100))})` : ''}`);
        doc.font('Helvetica');
        t(`Motif : ${i.reason}`, { indent: 12 });
        const sources = ((i.rule?.provenance ?? []) as Json[]).map((p) => `${p.ref}${p.note ? ` (${p.note})` : ''}`).join(' ; ');
        if (sources) t(`Règle : ${sources}`, { indent: 12 });
        if ((i.evidence as Json[]).length > 0) t(`Pièces : ${(i.evidence as Json[]).map((ev) => `${EVENT_LABELS[ev.type] ?? ev.type} du ${dateFr(ev.recordedAt)}`).join(' ; ')}`, { indent: 12 });
      }

      heading(doc, 'Chronologie des droits');
      for (const step of bundle.timeline as Json[]) {
        t(`${dateFr(step.at)} — ${EVENT_LABELS[step.type] ?? step.type} : total ${pointsFr(step.totalPoints)} points, ${eurosFr(step.amountCents)}, solde ${eurosFr(step.balanceCents)}`);
        for (const c of step.changed as Json[]) t(`${c.code} : ${c.met ? 'atteint' : 'non atteint'} — ${c.reason}`, { indent: 12 });
      }

      heading(doc, 'Contrôles a posteriori et recours');
      if ((bundle.controls as Json[]).length === 0) t('Aucun contrôle.');
      for (const c of bundle.controls as Json[]) {
        const findings = Object.entries(c.findings ?? {}).map(([code, outcome]) => `${code} ${outcome === 'invalidated' ? 'invalidé' : 'confirmé'}`).join(', ') || 'aucun constat';
        t(`Contrôle ${c.controlId} : ${c.status === 'open' ? 'en cours' : 'clos'} — constats : ${findings}${c.notification ? ` — notification : ${c.notification === 'recovery' ? 'indu à recouvrer' : c.notification === 'complement' ? 'complément à verser' : 'sans incidence'}` : ''}`);
        if (c.contestation) t(`Recours : ${c.contestation.status === 'filed' ? 'déposé, en attente de décision' : c.contestation.outcome === 'reversed' ? 'constats annulés' : 'constats maintenus'}`, { indent: 12 });
      }

      heading(doc, 'Intégrité');
      t(`${bundle.verification.ok ? 'Chaînes vérifiées' : 'CHAÎNE ROMPUE'} : ${bundle.verification.events} événements dans ${bundle.verification.streams} flux.`);
      t(bundle.hashing.description);
      t(`Vérification indépendante : ${bundle.hashing.verifier}`);

      heading(doc, 'Événements');
      for (const s of bundle.streams as Json[]) {
        for (const ev of s.events as Json[]) {
          t(`${dateFr(ev.metadata.recordedAt)} (effet ${dateFr(ev.metadata.effectiveAt)}) — ${EVENT_LABELS[ev.type] ?? ev.type} — ${ev.metadata.actor.role} ${ev.metadata.actor.sub}, ${CHANNELS[ev.metadata.channel] ?? ev.metadata.channel} — ${s.streamId} #${ev.revision} — empreinte ${String(ev.hash).slice(0, 16)}…`);
        }
      }
    },
    { Title: `Dossier d'audit ${bundle.rpps} ${bundle.year}`, Subject: 'Forfait structure' },
  );
}

export interface RecapLine {
  indicator: string;
  label: string;
  value: string;
  attestation: boolean;
  effectiveAt: string;
  channel: string;
  corrections: number;
}

/** The declaration summary amelipro gives the doctor (guide §III and §V): what was declared, attested, when, how. */
export function recapPdf(recap: { rpps: string; year: number; lines: RecapLine[]; transmittedAt: string | null; generatedAt: string }): Promise<Buffer> {
  return render(
    (doc, t) => {
      doc.font('Helvetica-Bold').fontSize(16);
      t(`Récapitulatif de la déclaration — Forfait structure ${recap.year}`);
      doc.font('Helvetica').fontSize(9).moveDown(0.5);
      t(`Médecin (RPPS) : ${recap.rpps}`);
      t(`Édité le ${dateFr(recap.generatedAt)}`);
      t(recap.transmittedAt ? `Déclaration transmise le ${dateFr(recap.transmittedAt)}` : 'Déclaration non transmise');
      heading(doc, 'Indicateurs déclarés');
      if (recap.lines.length === 0) t('Aucun indicateur déclaré.');
      for (const l of recap.lines) {
        doc.font('Helvetica-Bold');
        t(`${l.label} (${l.indicator})`);
        doc.font('Helvetica');
        t(`Déclaré : ${l.value}`, { indent: 12 });
        t(`Attestation sur l'honneur : ${l.attestation ? 'oui' : 'non'}`, { indent: 12 });
        t(`Le ${dateFr(l.effectiveAt)}, par ${CHANNELS[l.channel] ?? l.channel}${l.corrections > 0 ? ` (après ${l.corrections} correction${l.corrections > 1 ? 's' : ''})` : ''}`, { indent: 12 });
      }
      doc.moveDown();
      t("Ce récapitulatif des indicateurs ayant fait l'objet de l'attestation sur l'honneur est à conserver, avec les pièces justificatives, en cas de contrôle a posteriori (guide méthodologique 2023, §III et §V).");
    },
    { Title: `Récapitulatif ${recap.rpps} ${recap.year}`, Subject: 'Forfait structure' },
  );
}

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { signDevToken } from '@forfait/platform';
import { withRppsCheckDigit } from '@forfait/events';
import type { StartedSystem } from '../apps/api/src/bootstrap';
import { SHOTS, blockingViolations, describeWithBrowser, openChromium, request, startTestSystem, type Browser } from './support/e2e';
import { until as eventually } from './support/servers';

// The console in a real browser (Debian's chromium driven by playwright-core), against the real
// API on the embedded store with the demo campaign: each role's main path clicked through, the
// French text and formats checked, axe-core run on every screen, a screenshot per screen.

const CONSOLE_INDEX = join(__dirname, '..', 'dist', 'console', 'index.html');
// .ci/run installs chromium (apt-get install -y chromium); without it the tests are skipped out loud.
const describeIfBrowser = describeWithBrowser('console browser tests');

const GP = '10000000017'; // caisse 441
const CARDIO = '10000000025'; // caisse 751

// A 1×1 PNG: a justificatif the preview shows.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

describeIfBrowser('the console, in a browser, against the running API', () => {
  let dataDir: string;
  let system: StartedSystem;
  let browser: Browser;
  let page: Page;

  /** A token from the development endpoint (the one the sign-in screen uses). */
  async function token(claims: Record<string, string>): Promise<string> {
    const res = await request(system.url, 'POST', '/v1/dev/tokens', null, claims);
    expect(res.status).toBe(201);
    return res.body.token as string;
  }

  async function call(method: string, path: string, bearer: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await request(system.url, method, path, bearer, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** axe-core on the page as it stands: no serious or critical violation, and nothing fetched from outside. */
  async function expectAccessible(screen: string): Promise<void> {
    expect({ screen, blocking: await blockingViolations(page), outside: browser.outside }).toEqual({ screen, blocking: [], outside: [] });
  }

  async function shot(name: string, options: { fullPage?: boolean } = {}): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: options.fullPage ?? false, animations: 'disabled' });
  }

  /** Submits a form by its button: the form's notice (`<form>-notice`) says `recorded`, and its error (`<form>-error`) nothing. */
  async function submit(button: string, form: string, recorded: string): Promise<void> {
    await page.getByRole('button', { name: button }).click();
    const notice = page.getByTestId(`${form}-notice`).filter({ hasText: recorded });
    await notice.or(page.getByTestId(`${form}-error`)).waitFor();
    expect({ refused: await page.getByTestId(`${form}-error`).allTextContents() }).toEqual({ refused: [] });
    await notice.waitFor();
  }

  async function signIn(role: string, extra: { caisse?: string; rpps?: string } = {}): Promise<void> {
    await page.goto(`${system.url}/console/connexion`);
    await page.getByRole('heading', { level: 1, name: 'Connexion à la console' }).waitFor();
    await page.getByRole('radio', { name: role }).check();
    if (extra.caisse) await page.getByLabel('Code de la caisse (CPAM, 3 chiffres)').fill(extra.caisse);
    if (extra.rpps) await page.getByLabel('Numéro RPPS (11 chiffres)').fill(extra.rpps);
    await page.getByRole('button', { name: 'Se connecter' }).click();
  }

  /** A Vuetify select chosen by keyboard; on a loaded machine the menu can close before it opens: tried again, bounded. */
  // Opens a Vuetify select and clicks an option. A click that lands while the menu is still
  // opening can close it without selecting (seen once on CI: the software's name stayed empty),
  // so when the caller says what the choice must do (`took`), the choice is made again until it
  // has done it, four times at most.
  async function choose(combobox: ReturnType<Page['getByRole']>, option: string, took?: () => Promise<boolean>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      await combobox.focus();
      await page.keyboard.press('Enter');
      try {
        await page.getByRole('option', { name: option }).click({ timeout: 5000 });
        if (took === undefined) return;
        const deadline = Date.now() + 2000;
        while (Date.now() < deadline) {
          if (await took()) return;
          await page.waitForTimeout(100);
        }
        if (attempt === 3) throw new Error(`choosing "${option}" did not take effect after ${attempt + 1} tries`);
      } catch (error) {
        if (attempt === 3) throw error;
        await page.keyboard.press('Escape');
      }
    }
  }

  /** Types a date as a French user does (JJ/MM/AAAA) into Synapse's date field (a combobox: its calendar is a dialog). */
  // Key by key at a person's pace: Synapse's mask rewrites the field on each keystroke, and keys sent
  // faster than it re-renders on a loaded machine land at a moved caret (seen: 19/__/____); a
  // field that did not end as typed is cleared and typed again, three times at most.
  async function typeDate(field: ReturnType<Page['getByRole']>, french: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      await field.fill('');
      await field.pressSequentially(french, { delay: 120 });
      const shown = await field.inputValue();
      if (shown === french) break;
      if (attempt === 3) throw new Error(`the date field shows "${shown}" after typing "${french}" three times`);
    }
    await page.keyboard.press('Tab');
    await expect(field.inputValue()).resolves.toBe(french);
  }

  /** Types a text and checks, after leaving the field, that the field kept it. */
  async function typeText(field: ReturnType<Page['getByLabel']>, text: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      await field.fill('');
      await field.pressSequentially(text, { delay: 50 });
      await page.keyboard.press('Tab');
      const shown = await field.inputValue();
      if (shown === text) return;
      if (attempt === 3) throw new Error(`the field shows "${shown}" after typing "${text}" three times`);
    }
  }

  /** Types a time of day (HH:MM, 24 h). */
  async function typeTime(field: ReturnType<Page['getByRole']>, time: string): Promise<void> {
    await field.fill('');
    await field.pressSequentially(time);
    await page.keyboard.press('Tab');
    await expect(field.inputValue()).resolves.toBe(time);
  }

  beforeAll(async () => {
    if (!existsSync(CONSOLE_INDEX)) throw new Error(`the console is not built (${CONSOLE_INDEX} missing): npm test runs npm run build first`);
    dataDir = mkdtempSync(join(tmpdir(), 'forfait-console-'));
    system = await startTestSystem({ DATA_DIR: dataDir, SEED_DEMO: 'true', CLOCK: '2024-01-20T10:00:00+01:00', NODE_ENV: 'test' });

    // What happens after the seed, through the API as the users would: the GP declares the video
    // equipment (a new instant for "as known at"), the cardiologist uploads a justificatif, and an
    // agent of 751 keys in a paper form received five days ago (learnt late).
    const gp = await token({ role: 'doctor', rpps: GP });
    await call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, gp, { indicator: 'V2_VIDEO', value: { answer: true }, attestation: true });
    const cardio = await token({ role: 'doctor', rpps: CARDIO });
    const form = new FormData();
    form.append('indicator', 'V1_SEGUR_LAP');
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'attestation.png');
    await call('POST', `/v1/doctors/${CARDIO}/campaigns/2023/justificatifs`, cardio, form);
    const agent = await token({ role: 'agent', caisse: '751' });
    await call('POST', `/v1/doctors/${CARDIO}/campaigns/2023/declarations`, agent, {
      indicator: 'V2_CODAGE',
      value: { answer: true },
      attestation: true,
      channel: 'paper',
      effectiveAt: '2024-01-15T10:00:00+01:00',
    });

    // Everything the console loads comes from the API's origin: nothing from outside. An English
    // browser: the console is French whatever the browser says (its dates typed and shown as
    // 18/01/2024, its times as 09:30, where native date and time inputs would follow the browser).
    browser = await openChromium(() => [system.url], { locale: 'en-US' });
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await system?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('GET / leads to the console, served without a token; the sign-in screen is keyboard-first and accessible', async () => {
    const root = await fetch(`${system.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const index = await fetch(`${system.url}/console/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toMatch(/<html lang="fr">/);
    const deep = await fetch(`${system.url}/console/medecins/${GP}/2023`);
    expect([deep.status, await deep.text()]).toEqual([200, expect.stringMatching(/<html lang="fr">/)]);
    expect((await fetch(`${system.url}/console/assets/absent.js`)).status).toBe(404);

    await page.goto(`${system.url}/`);
    await page.getByRole('heading', { level: 1, name: 'Connexion à la console' }).waitFor();
    expect(page.url()).toBe(`${system.url}/console/connexion`);
    await expect(page.getByText('OpenID Connect').isVisible()).resolves.toBe(true);
    // The skip link (Synapse's) is the first thing a keyboard reaches, and it leads to the content.
    await expect(page.evaluate(`document.querySelector('a[href], button, input, [tabindex]:not([tabindex="-1"])')?.textContent?.trim()`)).resolves.toBe(
      'Aller au contenu',
    );
    await page.getByRole('link', { name: 'Aller au contenu' }).focus();
    await page.keyboard.press('Enter');
    await expect(page.evaluate(`document.activeElement?.closest('#main') !== null`)).resolves.toBe(true);
    expect(page.url()).toBe(`${system.url}/console/connexion#main`);
    await expectAccessible('connexion');
    await shot('01-connexion');
  });

  it('a controller searches the doctors of their caisse, then opens a doctor-year: entitlement, why each euro, both times', async () => {
    // The search API behind the screen: a controller's own caisse only.
    const controller = await token({ role: 'controller', caisse: '441' });
    expect(await call('GET', '/v1/doctors?specialty=medecine-generale', controller)).toEqual({
      doctors: [
        {
          rpps: GP,
          name: 'Claire Martin',
          specialty: 'medecine-generale',
          caisse: '441',
          caisseName: 'CPAM de la Loire-Atlantique',
          department: '44',
          years: [2023],
        },
      ],
    });
    expect((await fetch(`${system.url}/v1/doctors?caisse=751`, { headers: { authorization: `Bearer ${controller}` } })).status).toBe(403);

    await signIn('Contrôleur de la caisse', { caisse: '441' });
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await page.getByText('1 médecin trouvé').waitFor();
    await expect(page.getByRole('cell', { name: GP, exact: true }).isVisible()).resolves.toBe(true);
    // The doctor's name and the caisse's, as the API answers them (name, caisseName).
    await expect(page.getByRole('cell', { name: 'Claire Martin', exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('cell', { name: 'CPAM de la Loire-Atlantique (441)', exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.getByText(CARDIO).count()).resolves.toBe(0); // another caisse's doctor
    await page.getByLabel('RPPS (début du numéro)').fill('1000000002');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('0 médecin trouvé').waitFor();
    // By name: the start of a word, case and accents ignored.
    await page.getByLabel('RPPS (début du numéro)').fill('artin');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('0 médecin trouvé').waitFor();
    await page.getByLabel('RPPS (début du numéro)').fill('MARTÎN');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('1 médecin trouvé').waitFor();
    await page.getByLabel('RPPS (début du numéro)').fill('100');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('1 médecin trouvé').waitFor();
    await expectAccessible('medecins');
    await shot('02-recherche-medecins');

    await page.getByRole('link', { name: `Ouvrir la campagne 2023 du médecin ${GP}` }).click();
    await page.getByRole('heading', { level: 1, name: `Médecin ${GP} — campagne 2023` }).waitFor();
    const amount = page.getByTestId('amount');
    await amount.waitFor();
    const now = (await amount.textContent())!.trim();
    expect(now).toMatch(/^\d{1,3}(\s\d{3})*,\d{2}\s€$/); // 4 979,01 €
    await expect(page.getByTestId('summary').textContent()).resolves.toMatch(/connu au \d{2}\/\d{2}\/\d{4} \d{2}:\d{2} \(heure de Paris\)/);
    // Per indicator: the result, the reason, the events that decided it.
    const video = page.getByTestId('volet2').getByRole('row').filter({ hasText: 'V2_VIDEO' });
    await expect(video.textContent()).resolves.toMatch(/atteint.*50/);
    await expect(page.getByTestId('volet1').textContent()).resolves.toMatch(/Logiciel référencé Ségur/);
    // The timeline shows both times, and the correction of the maître de stage answer.
    const timeline = page.getByTestId('timeline');
    await expect(timeline.textContent()).resolves.toMatch(/Date d’effet\s*12\/01\/2024 18:22/);
    await expect(timeline.textContent()).resolves.toMatch(/Enregistré le\s*20\/01\/2024 \d\d:\d\d:\d\d/);
    await expect(timeline.getByText('correction').count()).resolves.toBe(1);
    // An evidence id leads to its event in the timeline (focus moves there).
    await video.getByRole('button').first().click();
    await expect(page.evaluate(`document.activeElement?.id ?? ''`)).resolves.toMatch(/^evt-/);
    await page.evaluate('window.scrollTo(0, 0)');
    await expectAccessible('medecin-annee');
    await shot('03-medecin-annee');

    // "As known at": the slider, by keyboard, to the first instant the caisse knew something.
    const slider = page.getByRole('slider', { name: 'Connu au' });
    await slider.focus();
    await page.keyboard.press('Home');
    // The first instant the caisse learnt something (the demo records each line on its own date).
    await page
      .getByTestId('known-at-text')
      .filter({ hasText: /^Connu au \d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d \(heure de Paris\)$/ })
      .waitFor();
    // The demo records each line on its own date: step forward from the first instant to the first one the doctor-year is known at a different amount.
    const amountNow = () => page.evaluate(`document.querySelector('[data-testid="amount"]')?.textContent?.trim() ?? ''`);
    for (let i = 0; i < 15 && (await amountNow()) === now; i += 1) {
      await page.keyboard.press('ArrowRight');
      await page.waitForTimeout(300);
    }
    await page.waitForFunction(`document.querySelector('[data-testid="amount"]')?.textContent?.trim() !== ${JSON.stringify(now)}`);
    await expect(page.getByTestId('volet2').getByRole('row').filter({ hasText: 'V2_VIDEO' }).textContent()).resolves.toMatch(/non atteint/);
    await expect(timeline.getByText('pas encore connu à cette date').count()).resolves.toBeGreaterThan(0);
    await page.getByTestId('known-at').scrollIntoViewIfNeeded();
    await shot('04-connu-au');
    await page.keyboard.press('End');
    await page.getByTestId('known-at-text').filter({ hasText: 'Connu à ce jour (maintenant)' }).waitFor();
    await page.waitForFunction(`document.querySelector('[data-testid="amount"]')?.textContent?.trim() === ${JSON.stringify(now)}`);

    // The diff between the instant before the latest event and now (the default), with its causes.
    await page.getByRole('button', { name: 'Comparer' }).click();
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    await expect(diff.getByRole('row').filter({ hasText: 'Vidéotransmission sécurisée' }).count()).resolves.toBeGreaterThan(0);
    await expect(diff.textContent()).resolves.toMatch(/changements? du 20\/01\/2024 \d\d:\d\d au 20\/01\/2024 \d\d:\d\d \(heure de Paris\)/);
    await diff.scrollIntoViewIfNeeded();
    await expectAccessible('diff');
    await shot('05-diff');
  });

  it('an agent works the justificatifs worklist: previews the file, validates one, rejects one with a reason', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Agent de la caisse', { caisse: '751' });
    await page.getByRole('heading', { level: 1, name: 'Justificatifs à traiter' }).waitFor();
    await page.getByText('2 justificatifs en attente').waitFor();
    const uploaded = page.getByRole('row').filter({ hasText: 'image/png' });
    const seeded = page.getByRole('row').filter({ hasText: 'application/pdf' });
    await expect(uploaded.textContent()).resolves.toMatch(/20\/01\/2024 \d\d:\d\d/);
    await expectAccessible('justificatifs');
    await shot('06-justificatifs');

    await uploaded.getByRole('button', { name: /^Voir le fichier/ }).click();
    await page.getByRole('img', { name: 'Justificatif déposé' }).waitFor();
    await expect(page.getByText(/Empreinte SHA-256/).textContent()).resolves.toMatch(/[0-9a-f]{64}/);
    await uploaded.getByRole('button', { name: /^Valider/ }).click();
    await page.getByTestId('notice').filter({ hasText: 'validé' }).waitFor();
    await page.getByText('1 justificatif en attente').waitFor();

    await seeded.getByRole('button', { name: /^Rejeter/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Motif du rejet/).waitFor();
    await expect(dialog.getByRole('button', { name: 'Confirmer le rejet' }).isDisabled()).resolves.toBe(true);
    await page.keyboard.type('Facture illisible : merci de renvoyer une copie lisible');
    await expectAccessible('rejet');
    await shot('07-rejet');
    // Meanwhile the doctor declares on the same doctor-year: the row's revision (If-Match) is stale.
    const agent = await token({ role: 'agent', caisse: '751' });
    const seededId = ((await call('GET', '/v1/justificatifs?status=pending', agent)).items as { id: string; mediaType: string }[]).find(
      (j) => j.mediaType === 'application/pdf',
    )!.id;
    const cardio = await token({ role: 'doctor', rpps: CARDIO });
    await call('POST', `/v1/doctors/${CARDIO}/campaigns/2023/declarations`, cardio, {
      indicator: 'V1_HORAIRES',
      value: { displayed: true },
      attestation: true,
    });
    await dialog.getByRole('button', { name: 'Confirmer le rejet' }).click();
    // Refused (412), nothing recorded; what changed is listed; the reason typed is still there.
    const conflict = dialog.getByTestId('conflict');
    await conflict.filter({ hasText: 'a changé depuis l’affichage de la liste : rien n’a été enregistré' }).waitFor();
    await expect(conflict.textContent()).resolves.toMatch(
      /\d\d\/\d\d\/\d{4} \d\d:\d\d : Déclaration — Horaires du cabinet dans Annuaire santé \(Médecin, amelipro\)/,
    );
    await expect(dialog.getByLabel(/Motif du rejet/).inputValue()).resolves.toBe('Facture illisible : merci de renvoyer une copie lisible');
    expect(((await call('GET', '/v1/justificatifs?status=pending', agent)).items as { id: string }[]).map((j) => j.id)).toContain(seededId);
    await expectAccessible('rejet-conflit');
    await shot('07b-rejet-conflit');
    // Decided again, on the newer state: recorded once.
    await dialog.getByRole('button', { name: 'Confirmer le rejet' }).click();
    await page.getByTestId('notice').filter({ hasText: 'rejeté' }).waitFor();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByText('0 justificatif en attente').waitFor();

    // What the API now says: both decided, once each, with the reason.
    const rejected = (await call('GET', '/v1/justificatifs?status=rejected', agent)).items as { reason: string }[];
    expect(rejected.map((j) => j.reason)).toEqual(['Facture illisible : merci de renvoyer une copie lisible']);
    expect(((await call('GET', '/v1/justificatifs?status=validated', agent)).items as unknown[]).length).toBe(1);
  });

  it('the agent opens the doctor from the worklist: the late paper form shows both dates and how late it was learnt', async () => {
    // The status filter, by keyboard: the list opens on Enter.
    await page.getByRole('combobox', { name: 'Statut' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: 'Rejetés' }).click();
    await page.getByText('1 justificatif rejeté').waitFor();
    await page.getByRole('link', { name: CARDIO }).click();
    await page.getByRole('heading', { level: 1, name: `Médecin ${CARDIO} — campagne 2023` }).waitFor();
    const paper = page.getByTestId('timeline').getByRole('listitem').filter({ hasText: 'Codage des données médicales' });
    await expect(paper.textContent()).resolves.toMatch(
      /formulaire papier.*connu 5 jours après.*Date d’effet\s*15\/01\/2024 10:00.*Enregistré le\s*20\/01\/2024 \d\d:\d\d/s,
    );
    await expect(page.getByTestId('timeline').getByText('Justificatif rejeté').count()).resolves.toBe(1);
    await paper.scrollIntoViewIfNeeded();
    await expectAccessible('medecin-annee-papier');
    await shot('08-formulaire-papier-tardif');

    // The agent keys in another paper form, received on 18 January; meanwhile a colleague writes
    // to the same doctor-year: If-Match makes the API refuse (412), and the page shows the newer state.
    await typeDate(page.getByRole('combobox', { name: 'Reçu le (date)' }), '18/01/2024');
    await typeTime(page.getByRole('textbox', { name: 'Reçu à (heure de Paris)' }), '09:30');
    await page.getByLabel('Le formulaire porte l’attestation sur l’honneur signée').check();
    const colleague = await token({ role: 'agent', caisse: '751' });
    await call('POST', `/v1/doctors/${CARDIO}/campaigns/2023/declarations`, colleague, {
      indicator: 'V2_MAITRE_STAGE',
      value: { answer: true },
      attestation: true,
      channel: 'back-office',
    });
    await page.getByRole('button', { name: 'Enregistrer le formulaire' }).click();
    // Refused (412): what the colleague recorded is listed, the timeline shows it, the form keeps its input.
    const conflict = page.getByTestId('paper-conflict');
    await conflict.filter({ hasText: 'Le dossier a changé depuis son affichage : rien n’a été enregistré' }).waitFor();
    await conflict
      .filter({ hasText: /\d\d\/\d\d\/\d{4} \d\d:\d\d : Déclaration — Maître de stage \(Agent de la caisse 751, back-office de la caisse\)/ })
      .waitFor();
    await page.getByTestId('timeline').getByRole('listitem').filter({ hasText: 'Maître de stage' }).filter({ hasText: 'Enregistré le' }).first().waitFor();
    await expect(page.getByRole('combobox', { name: 'Reçu le (date)' }).inputValue()).resolves.toBe('18/01/2024');
    await expect(page.getByRole('textbox', { name: 'Reçu à (heure de Paris)' }).inputValue()).resolves.toBe('09:30');
    await expect(page.getByTestId('timeline').getByRole('listitem').filter({ hasText: 'Vidéotransmission sécurisée' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Enregistrer le formulaire' }).click();
    await page.getByTestId('paper-notice').filter({ hasText: 'reçu le 18/01/2024 09:30, heure de Paris' }).waitFor();
    const video = page.getByTestId('timeline').getByRole('listitem').filter({ hasText: 'Vidéotransmission sécurisée' });
    await expect(video.textContent()).resolves.toMatch(/formulaire papier.*connu 2 jours après.*Date d’effet\s*18\/01\/2024 09:30/s);
    await page.getByRole('heading', { name: 'Saisir un formulaire papier' }).scrollIntoViewIfNeeded();
    await expectAccessible('saisie-papier');
    await shot('11-saisie-papier');
  });

  it('the agent keys a paper form with the Ségur software and its LAP, then a SAS attestation received from a CPTS', async () => {
    const agent = await token({ role: 'agent', caisse: '751' });
    const { lists } = (await call('GET', '/v1/campaigns/2023', agent)) as {
      lists: { segurSolutions: { editor: string; name: string }[]; hasLap: { editor: string; name: string }[]; sasSoftware: string[] };
    };
    const solution = lists.segurSolutions[1]!;
    const lap = lists.hasLap[1]!;
    await choose(page.getByRole('combobox', { name: 'Indicateur' }), 'Logiciel référencé Ségur avec LAP certifié HAS');
    const segur = page.getByTestId('paper-segur');
    await segur.waitFor();
    const softwareName = segur.getByLabel('Nom du logiciel');
    await choose(
      segur.getByRole('combobox', { name: 'Solution de la liste référencée (remplit éditeur et nom)' }),
      `${solution.name} (${solution.editor})`,
      async () => (await softwareName.inputValue()) !== '',
    );
    await expect(softwareName.inputValue()).resolves.toBe(solution.name);
    // Typed and checked after leaving the field, as a date is (CI once submitted it empty, the
    // value filled just after the solution's pick lost).
    await typeText(segur.getByLabel('Version du logiciel'), '3.2');
    await typeDate(segur.getByRole('combobox', { name: 'Acquis le' }), '02/10/2023');
    const lapName = segur.getByLabel('Nom du LAP');
    await choose(
      segur.getByRole('combobox', { name: 'LAP de la liste HAS (remplit éditeur et nom)' }),
      `${lap.name} (${lap.editor})`,
      async () => (await lapName.inputValue()) !== '',
    );
    await typeDate(page.getByRole('combobox', { name: 'Reçu le (date)' }), '19/01/2024');
    await typeTime(page.getByRole('textbox', { name: 'Reçu à (heure de Paris)' }), '08:45');
    await segur.scrollIntoViewIfNeeded();
    await expectAccessible('saisie-papier-segur');
    await shot('21-saisie-papier-segur');
    await submit('Enregistrer le formulaire', 'paper', 'Logiciel référencé Ségur avec LAP certifié HAS, reçu le 19/01/2024 08:45, heure de Paris');
    // What the API recorded: the software, the LAP, both dates.
    const history = (await call('GET', `/v1/doctors/${CARDIO}/history?year=2023`, agent)).events as {
      type: string;
      effectiveAt: string;
      channel: string;
      data: Record<string, unknown>;
    }[];
    const last = history.filter((e) => e.type === 'IndicatorDeclared' && e.data.indicator === 'V1_SEGUR_LAP').at(-1)!;
    expect(last).toMatchObject({ channel: 'paper', effectiveAt: '2024-01-19T07:45:00.000Z' });
    expect(last.data).toMatchObject({
      value: {
        segurSoftware: { editor: solution.editor, name: solution.name, version: '3.2', acquiredOn: '2023-10-02', kind: 'cabinet' },
        lapCertified: true,
        lap: { editor: lap.editor, name: lap.name, certification: 'definitive' },
      },
    });

    // The SAS attestation, on the agent's worklist page.
    await page.getByRole('link', { name: 'Justificatifs' }).click();
    await page.getByRole('heading', { level: 1, name: 'Justificatifs à traiter' }).waitFor();
    await page.getByText('0 justificatif en attente').waitFor();
    await page.getByLabel('Fichier de l’attestation', { exact: true }).setInputFiles({ name: 'attestation-sas.png', mimeType: 'image/png', buffer: PNG });
    await page.getByLabel('CPTS (nom)').fill('CPTS Paris 15');
    await page.getByRole('combobox', { name: 'Logiciel SAS' }).fill(lists.sasSoftware[1]!);
    await page.getByLabel('Médecins listés (RPPS, un par ligne)').fill(CARDIO);
    await typeDate(page.getByRole('combobox', { name: 'Attestation reçue le (date)' }), '19/01/2024');
    await typeTime(page.getByRole('textbox', { name: 'Reçue à (heure de Paris)' }), '10:00');
    await page.getByRole('heading', { name: 'Enregistrer une attestation SAS reçue' }).scrollIntoViewIfNeeded();
    await expectAccessible('attestation-sas');
    await shot('22-attestation-sas');
    await submit('Enregistrer l’attestation', 'sas', 'Attestation SAS enregistrée pour 1 médecin (reçue le 19/01/2024 10:00, heure de Paris)');
    await page.getByText('1 justificatif en attente').waitFor();
    const pending = (await call('GET', '/v1/justificatifs?status=pending', agent)).items as Record<string, unknown>[];
    expect(pending).toEqual([expect.objectContaining({ kind: 'sas-attestation', cpts: 'CPTS Paris 15', effectiveAt: '2024-01-19T09:00:00.000Z' })]);
    expect(JSON.stringify(pending[0])).toContain(CARDIO);
    // Its row links to each doctor it lists, not to the list as one RPPS.
    await expect(page.getByRole('link', { name: CARDIO, exact: true }).getAttribute('href')).resolves.toBe(`/console/medecins/${CARDIO}/2023`);
  });

  it('an auditor reads every caisse, checks integrity, downloads the audit bundle and reads the access journal', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Auditeur (enquêteur)');
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await page.getByText('3 médecins trouvés').waitFor();

    await page.getByRole('link', { name: 'Intégrité' }).click();
    await page.getByRole('heading', { level: 1, name: 'Intégrité du journal des événements' }).waitFor();
    await page.getByTestId('integrity-status').filter({ hasText: 'Aucune anomalie' }).waitFor();
    await expect(page.getByText(/Vérifié le 20\/01\/2024 \d\d:\d\d:\d\d \(heure de Paris\)/).count()).resolves.toBe(1);
    // The first call looked at everything: the whole journal counts as gone through, on the system's clock.
    await expect(page.getByTestId('integrity-sweep').textContent()).resolves.toMatch(
      /dernier tour complet du journal : 20\/01\/2024 \d\d:\d\d \(heure de Paris\)/,
    );
    await expectAccessible('integrite');
    await shot('09-integrite');

    await page.goto(`${system.url}/console/medecins/${GP}/2023`);
    await page.getByRole('heading', { level: 1, name: `Médecin ${GP} — campagne 2023` }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Télécharger le dossier (JSON)' }).click()]);
    expect(download.suggestedFilename()).toBe(`dossier-audit-${GP}-2023.json`);
    const bundle = JSON.parse(readFileSync(await download.path(), 'utf8')) as { format: string; rpps: string };
    expect(bundle).toMatchObject({ format: 'forfait-structure-audit-bundle/2', rpps: GP });
    // The journal names the controller who read this history earlier, and this auditor.
    const journal = page.getByTestId('access-journal');
    await journal.getByRole('row').filter({ hasText: 'Contrôleur de la caisse (caisse 441)' }).first().waitFor();
    await expect(journal.getByRole('row').filter({ hasText: 'Auditeur' }).count()).resolves.toBeGreaterThan(0);
    await page.getByRole('heading', { name: 'Dossier d’audit' }).scrollIntoViewIfNeeded();
    await expectAccessible('audit');
    await shot('10-dossier-audit');
  });

  it('a doctor signs in to their own doctor-year', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Médecin', { rpps: GP });
    await page.getByRole('heading', { level: 1, name: `Médecin ${GP} — campagne 2023` }).waitFor();
    await expect(page.getByTestId('amount').textContent()).resolves.toMatch(/,\d{2}\s€$/);
    await expect(page.getByRole('button', { name: /Télécharger le dossier/ }).count()).resolves.toBe(0);
    await page.getByTestId('explanation').waitFor();
    await expectAccessible('medecin-annee-du-medecin');
    // A path the console does not know: its own page, accessible too.
    await page.goto(`${system.url}/console/nulle-part`);
    await page.getByRole('heading', { level: 1, name: 'Page introuvable' }).waitFor();
    await expectAccessible('introuvable');
  });

  it('a controller runs a contrôle a posteriori: opens it, requests evidence, invalidates an indicator, closes it with the indu computed', async () => {
    // The caisse paid the GP what was due (the system's payment, as the yearly run would).
    const system_ = await signDevToken(readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim(), { role: 'system' });
    const auditor = await token({ role: 'auditor' });
    const due = (await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement`, auditor)).amountCents as number;
    await call('POST', `/v1/doctors/${GP}/campaigns/2023/payments`, system_, {
      amountCents: due,
      paidAt: '2024-01-20T10:00:00+01:00',
      reference: 'VIR-2024-001',
    });

    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Contrôleur de la caisse', { caisse: '441' });
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await page.goto(`${system.url}/console/medecins/${GP}/2023`);
    await page.getByRole('heading', { name: 'Contrôle a posteriori' }).waitFor();
    const openButton = page.getByRole('button', { name: 'Ouvrir le contrôle' });
    // On a loaded machine the menu can close before the choice registers: choose again (bounded) until the form is complete.
    for (let attempt = 0; attempt < 3 && !(await openButton.isEnabled()); attempt += 1) {
      await page.getByRole('combobox', { name: 'Indicateurs à contrôler' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('option', { name: 'Vidéotransmission sécurisée' }).click();
      await page.keyboard.press('Escape');
      await page.getByLabel('Motif du contrôle').fill('Ciblage : équipement vidéo déclaré en fin de campagne');
      await openButton.waitFor();
      await page.waitForFunction(() => true, undefined, { timeout: 1000 });
    }
    await openButton.click();
    await page.getByText(/^Contrôle ouvert le 20\/01\/2024 \d\d:\d\d \(heure de Paris\) — en cours$/).waitFor();

    await page.getByLabel('Pièces demandées (une par ligne)').fill('Facture de l’équipement de vidéotransmission');
    await typeDate(page.getByRole('combobox', { name: 'À fournir avant le' }), '15/02/2024');
    await page.getByRole('button', { name: 'Envoyer la demande' }).click();
    await page.getByText('Pièces demandées pour le 15/02/2024 23:59 : Facture de l’équipement de vidéotransmission').waitFor();

    await page.getByRole('combobox', { name: 'Indicateur contrôlé' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: 'Vidéotransmission sécurisée' }).click();
    await page.getByLabel('Motif du constat').fill('Aucune facture fournie');
    await page.getByRole('button', { name: 'Enregistrer le constat' }).click();
    await page.getByText('Vidéotransmission sécurisée : invalidé (Aucune facture fournie)').waitFor();
    await page.getByRole('heading', { name: 'Contrôle a posteriori' }).scrollIntoViewIfNeeded();
    await expectAccessible('controle');
    await shot('12-controle');

    await page.getByRole('button', { name: /^Clore le contrôle/ }).click();
    // V2_VIDEO is 50 points: 350,00 € paid for it are to be recovered.
    await page
      .getByTestId('control-outcome')
      .filter({ hasText: /^\s*Indu à recouvrer : 350,00\s€/ })
      .waitFor();

    await page.getByRole('link', { name: 'Contrôles' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contrôles a posteriori' }).waitFor();
    await page.getByRole('combobox', { name: 'Liste' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: 'Clos' }).click();
    await page
      .getByRole('row')
      .filter({ hasText: GP })
      .filter({ hasText: /indu 350,00\s€/ })
      .waitFor();
    await expectAccessible('controles');
    await shot('13-controles');
  });
  it('the doctor contests; the controller finds it in "contestations to decide", decides it with a reason (If-Match: a conflict shows the newer state) and sees the indu recomputed', async () => {
    const controller = await token({ role: 'controller', caisse: '441' });
    const closed = (await call('GET', '/v1/controls?status=closed', controller)).items as { controlId: string; rpps: string }[];
    const controlId = closed.find((c) => c.rpps === GP)!.controlId;
    const gp = await token({ role: 'doctor', rpps: GP });
    await call('POST', `/v1/controls/${controlId}/contestations`, gp, { reason: 'La facture de la caméra a été envoyée par courrier le 10/02/2024' });

    await page.getByRole('combobox', { name: 'Liste' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: 'Contestations à décider' }).click();
    const row = page.getByRole('row').filter({ hasText: GP });
    await row.waitFor();
    await expect(page.getByTestId('count').textContent()).resolves.toBe('1 contrôle');
    await expectAccessible('contestations-a-decider');
    await shot('16-contestations-a-decider');
    await row.getByRole('link', { name: GP }).click();
    await page.getByRole('heading', { level: 1, name: `Médecin ${GP} — campagne 2023` }).waitFor();
    const contestation = page.getByTestId('contestation');
    await contestation
      .getByText(/^Reçue le 20\/01\/2024 \d\d:\d\d \(heure de Paris\) : « La facture de la caméra a été envoyée par courrier le 10\/02\/2024 »$/)
      .waitFor();

    await contestation.getByRole('radio', { name: 'Annuler le constat' }).check();
    await contestation.getByLabel('Motif de la décision').fill('Facture reçue et conforme : équipement acquis en 2023');
    // Meanwhile the doctor writes to the same doctor-year (the same answer again): the page's revision is stale.
    await call('POST', `/v1/doctors/${GP}/campaigns/2023/declarations`, gp, { indicator: 'V2_VIDEO', value: { answer: true }, attestation: true });
    const before = (await call('GET', `/v1/controls/${controlId}`, controller)).events as unknown[];
    await contestation.getByRole('button', { name: 'Enregistrer la décision' }).click();
    const conflict = page.getByTestId('control-conflict');
    await conflict.filter({ hasText: 'Ce dossier a été modifié entre-temps : rien n’a été enregistré' }).waitFor();
    await conflict.filter({ hasText: /\d\d\/\d\d\/\d{4} \d\d:\d\d : Déclaration — Vidéotransmission sécurisée \(Médecin, amelipro\)/ }).waitFor();
    expect(((await call('GET', `/v1/controls/${controlId}`, controller)).events as unknown[]).length).toBe(before.length); // nothing recorded
    // The newer state is shown (the doctor's declaration in the timeline), and the typed reason kept.
    await page
      .getByTestId('timeline')
      .getByRole('listitem')
      .filter({ hasText: 'Vidéotransmission sécurisée' })
      .filter({ hasText: 'Enregistré le' })
      .nth(1)
      .waitFor();
    await expect(contestation.getByLabel('Motif de la décision').inputValue()).resolves.toBe('Facture reçue et conforme : équipement acquis en 2023');
    await contestation.getByRole('button', { name: 'Enregistrer la décision' }).click();
    await page
      .getByTestId('decision')
      .filter({
        hasText:
          /Décision du 20\/01\/2024 \d\d:\d\d \(heure de Paris\) : constat annulé \(Vidéotransmission sécurisée\) — motif : Facture reçue et conforme : équipement acquis en 2023\./,
      })
      .waitFor();
    // The finding reversed, the entitlement is what was paid again: no indu left.
    await page
      .getByTestId('after-decision')
      .filter({
        hasText: /Après la décision : montant recalculé \d{1,3}(\s\d{3})*,\d{2}\s€, déjà payé \d{1,3}(\s\d{3})*,\d{2}\s€, soit ni indu ni complément\./,
      })
      .waitFor();
    const entitlement = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement`, controller);
    expect(entitlement.balanceCents).toBe(0);
    expect(await call('GET', `/v1/controls/${controlId}`, controller)).toMatchObject({ contestation: { status: 'decided', outcome: 'reversed' } });
    await contestation.scrollIntoViewIfNeeded();
    await expectAccessible('contestation-decidee');
    await shot('17-contestation-decidee');
  });

  it('the worklist "controls overdue" lists a control whose evidence is past its due date', async () => {
    const controller = await token({ role: 'controller', caisse: '441' });
    const { controlId } = (await call('POST', '/v1/controls', controller, {
      rpps: GP,
      year: 2023,
      indicators: ['V2_CODAGE'],
      reason: 'Ciblage : codage déclaré sans justificatif',
    })) as { controlId: string };
    const openedAt = ((await call('GET', `/v1/controls/${controlId}`, controller)).events as { metadata: { effectiveAt: string } }[])[0]!.metadata.effectiveAt;
    // Due two seconds after the server's now: the server's clock runs, so the request is soon overdue.
    await call('POST', `/v1/controls/${controlId}/evidence-requests`, controller, {
      items: ['Extrait du logiciel de codage'],
      dueAt: new Date(Date.parse(openedAt) + 2000).toISOString(),
    });
    // Once the server's clock has passed the due date (bounded wait), the worklist shows it.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      if (((await call('GET', '/v1/controls?status=overdue', controller)).items as unknown[]).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await page.goto(`${system.url}/console/controles`);
    await page.getByRole('heading', { level: 1, name: 'Contrôles a posteriori' }).waitFor();
    await page.getByRole('combobox', { name: 'Liste' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: 'Pièces en retard' }).click();
    const overdue = page.getByRole('row').filter({ hasText: GP }).filter({ hasText: '(en retard)' });
    await overdue.waitFor();
    await expect(page.getByTestId('count').textContent()).resolves.toBe('1 contrôle');
    await expectAccessible('pieces-en-retard');
    await shot('18-pieces-en-retard');
  });
  it('the controller reads the campaign dashboard of caisse 441: charts drawn in the page, each with its table', async () => {
    const controller = await token({ role: 'controller', caisse: '441' });
    const api = (await call('GET', '/v1/campaigns/2023/dashboard', controller)) as {
      caisses: { caisse: string; doctors: number; transmitted: number; declarations: Record<string, { doctors: number; paperOrBackOffice: number }> }[];
    };
    expect(api.caisses.map((c) => c.caisse)).toEqual(['441']);
    // The campaigns come from the API (GET /v1/campaigns): an admin opens 2024, the dashboard opens on it and offers both.
    const admin = await token({ role: 'admin' });
    await call('POST', '/v1/campaigns', admin, { year: 2024, ruleset: 'FS-2024', opensAt: '2024-12-09T00:00:00+01:00', closesAt: '2025-02-02T23:59:59+01:00' });
    expect(((await call('GET', '/v1/campaigns', controller)).campaigns as { year: number }[]).map((c) => c.year)).toEqual([2024, 2023]);
    await page.getByRole('link', { name: 'Tableau de bord' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tableau de bord de la campagne 2024' }).waitFor();
    await page.getByTestId('dashboard-scope').filter({ hasText: 'Déclarations ouvertes du 09/12/2024 00:00 au 02/02/2025 23:59 (heure de Paris).' }).waitFor();
    await page.getByRole('combobox', { name: 'Campagne' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: '2023' }).waitFor();
    await expect(page.getByRole('option').allTextContents()).resolves.toEqual(['2024', '2023']);
    await page.getByRole('option', { name: '2023' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tableau de bord de la campagne 2023' }).waitFor();
    await page
      .getByTestId('dashboard-scope')
      .filter({ hasText: /^Caisse 441\. Déclarations ouvertes du \d\d\/\d\d\/\d{4} \d\d:\d\d au \d\d\/\d\d\/\d{4} \d\d:\d\d \(heure de Paris\)\.$/ })
      .waitFor();
    const c441 = api.caisses[0]!;
    // The tables say what the charts draw, from the API's figures.
    await expect(page.getByTestId('table-transmitted').getByRole('row').filter({ hasText: 'CPAM de la Loire-Atlantique (441)' }).textContent()).resolves.toBe(
      `CPAM de la Loire-Atlantique (441)${c441.doctors}${c441.transmitted}${c441.doctors - c441.transmitted}${c441.doctors ? `${((100 * c441.transmitted) / c441.doctors).toLocaleString('fr-FR', { maximumFractionDigits: 1 })}\u00a0%` : '—'}`,
    );
    const video = c441.declarations.V2_VIDEO!;
    await expect(page.getByTestId('table-indicators').getByRole('row').filter({ hasText: 'V2_VIDEO' }).textContent()).resolves.toBe(
      `Vidéotransmission sécurisée V2_VIDEO${video.doctors}${video.paperOrBackOffice}`,
    );
    await expect(page.getByTestId('table-indicators').getByRole('row').count()).resolves.toBe(Object.keys(c441.declarations).length + 1);
    // Two SVG charts, named, one bar per caisse and per indicator; nothing fetched from outside (checked by expectAccessible).
    await expect(page.getByRole('img', { name: /Part des médecins ayant transmis leur déclaration, par caisse/ }).count()).resolves.toBe(1);
    await expect(
      page
        .getByRole('img', { name: /Nombre de médecins ayant déclaré chaque indicateur/ })
        .locator('rect.primary[height="22"]')
        .count(),
    ).resolves.toBe(Object.keys(c441.declarations).length);
    await expectAccessible('tableau-de-bord');
    await shot('19-tableau-de-bord', { fullPage: true });
  });

  it('an auditor reads the log’s checkpoints, finds the one of a downloaded bundle, and reads how to verify it', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Auditeur (enquêteur)');
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    const auditor = await token({ role: 'auditor' });
    const bundle = await call('GET', `/v1/doctors/${GP}/campaigns/2023/audit-bundle`, auditor);
    const { status, checkpoint: cp } = bundle.log as { status: string; checkpoint: { treeSize: number; rootHash: string } };
    expect(status).toBe('included');
    const { vkey } = (await call('GET', '/v1/log/public-key', auditor)) as { vkey: string };

    await page.getByRole('link', { name: 'Intégrité' }).click();
    await page.getByRole('heading', { level: 1, name: 'Intégrité du journal des événements' }).waitFor();
    await page.getByTestId('checkpoint').waitFor();
    expect(Number(await page.getByTestId('tree-size').textContent())).toBeGreaterThanOrEqual(cp.treeSize);
    await expect(page.getByTestId('vkey').textContent()).resolves.toBe(vkey);
    await expect(page.getByTestId('signatures').getByRole('row').filter({ hasText: 'journal' }).count()).resolves.toBe(1);
    await expect(page.getByTestId('verify-command').textContent()).resolves.toBe(
      `node scripts/verify-bundle.mjs dossier-audit-<RPPS>-<année>.json --vkey '${vkey}'`,
    );
    await page.getByLabel('Taille de l’arbre (celle du dossier d’audit)').fill(String(cp.treeSize));
    await page.getByRole('button', { name: 'Afficher' }).click();
    await page
      .getByTestId('earlier-checkpoint')
      .filter({ hasText: `Point de contrôle de taille ${cp.treeSize} : racine ${cp.rootHash}` })
      .waitFor();
    await page.getByLabel('Taille de l’arbre (celle du dossier d’audit)').fill('0');
    await page.getByRole('button', { name: 'Afficher' }).click();
    await page.getByText('Indiquez une taille d’arbre (un nombre entier d’événements, au moins 1).').waitFor();
    await page.getByRole('heading', { name: 'Points de contrôle du journal vérifiable' }).scrollIntoViewIfNeeded();
    await expectAccessible('journal-points-de-controle');
    await shot('20-journal-points-de-controle', { fullPage: true });

    // Across caisses: the auditor's dashboard has a row per caisse.
    await page.getByRole('link', { name: 'Tableau de bord' }).click();
    await page
      .getByTestId('dashboard-scope')
      .filter({ hasText: /^Toutes les caisses\./ })
      .waitFor();
    await choose(
      page.getByRole('combobox', { name: 'Campagne' }),
      '2023',
      async () => (await page.getByRole('heading', { level: 1, name: 'Tableau de bord de la campagne 2023' }).count()) === 1,
    );
    await page.getByTestId('table-transmitted').getByRole('row').filter({ hasText: 'CPAM de Paris (751)' }).waitFor();
    await expect(page.getByTestId('table-transmitted').getByRole('row').count()).resolves.toBe(
      1 + ((await call('GET', '/v1/campaigns/2023/dashboard', auditor)).caisses as unknown[]).length,
    );
  });

  it('a controller searches doctors by specialty and by the status of a campaign (transmitted, not transmitted, under control)', async () => {
    const controller = await token({ role: 'controller', caisse: '441' });
    const ids = async (query: string) => ((await call('GET', `/v1/doctors?${query}`, controller)).doctors as { rpps: string }[]).map((d) => d.rpps);
    const all = await ids('');
    const transmitted = await ids('status=transmitted&year=2023');
    const notTransmitted = await ids('status=not-transmitted&year=2023');
    // Every doctor-year of the caisse is one or the other, never both.
    expect([...transmitted, ...notTransmitted].sort()).toEqual(all);
    // The GP has a control still open (the V2_CODAGE one whose evidence is overdue).
    expect(await ids('status=under-control&year=2023')).toEqual([GP]);
    expect(await ids('specialty=cardiologie')).toEqual([]);
    const noYear = await request(system.url, 'GET', '/v1/doctors?status=transmitted', controller);
    expect([noYear.status, noYear.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badStatus = await request(system.url, 'GET', '/v1/doctors?status=paid&year=2023', controller);
    expect([badStatus.status, badStatus.body.code]).toEqual([400, 'VALIDATION_FAILED']);

    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Contrôleur de la caisse', { caisse: '441' });
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await page.getByText('1 médecin trouvé').waitFor();
    await choose(page.getByRole('combobox', { name: 'Spécialité' }), 'Cardiologie');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('0 médecin trouvé').waitFor();
    await choose(page.getByRole('combobox', { name: 'Spécialité' }), 'Médecine générale');
    await choose(page.getByRole('combobox', { name: 'Statut' }), 'Contrôle en cours');
    await choose(page.getByRole('combobox', { name: 'Campagne' }), '2023');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('1 médecin trouvé').waitFor();
    await expect(page.getByRole('cell', { name: GP, exact: true }).isVisible()).resolves.toBe(true);
    await choose(page.getByRole('combobox', { name: 'Statut' }), transmitted.includes(GP) ? 'Déclaration non transmise' : 'Déclaration transmise');
    await page.getByRole('button', { name: 'Rechercher' }).click();
    await page.getByText('0 médecin trouvé').waitFor();
    await expectAccessible('medecins-statut');
    await shot('24-recherche-statut');
  });

  it('the doctor-year page says why each euro is due: per indicator the rule, its parameters and source, the points, the euros, the events', async () => {
    const controller = await token({ role: 'controller', caisse: '441' });
    const x = (await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement/explanation`, controller)) as {
      pointValueCents: number;
      amountCents: number;
      indicators: {
        code: string;
        volet: number;
        points: number;
        euroCents: number | null;
        rule: { parameters: { kind: string; points?: number }; sources: { source: string; ref: string }[] };
        evidence: { eventId: string; type: string | null }[];
      }[];
    };
    const entitlement = await call('GET', `/v1/doctors/${GP}/campaigns/2023/entitlement`, controller);
    expect(x.amountCents).toBe(entitlement.amountCents);
    const video = x.indicators.find((i) => i.code === 'V2_VIDEO')!;
    // Volet 2: each point is worth pointValueCents (guide: 7 €), the indicator's euros are its points times that.
    expect(video.euroCents).toBe(Math.round(video.points * x.pointValueCents));
    expect(video.rule.parameters.kind).toBe('declared');
    expect(video.points).toBeLessThanOrEqual(video.rule.parameters.points!);
    expect(video.rule.sources.length).toBeGreaterThan(0);
    expect(video.evidence.map((e) => e.type)).toContain('IndicatorDeclared');

    await page.goto(`${system.url}/console/medecins/${GP}/2023`);
    await page.getByRole('heading', { level: 1, name: `Médecin ${GP} — campagne 2023` }).waitFor();
    const section = page.getByTestId('explanation');
    await section.waitFor();
    await expect(section.textContent()).resolves.toContain('un point vaut 7,00\u00a0€');
    const row = section.locator('tr[data-code="V2_VIDEO"]');
    const text = (await row.textContent())!;
    const cents = video.euroCents!;
    expect(text).toContain(`${Math.floor(cents / 100)},${String(cents % 100).padStart(2, '0')}\u00a0€`);
    expect(text).toContain('déclaré sur l’honneur');
    expect(text).toContain(`${video.rule.parameters.points} points de base`);
    expect(text).toContain(video.rule.sources[0]!.ref);
    expect(text).toMatch(/Déclaration\s*du \d\d\/\d\d\/\d{4} \d\d:\d\d, appris le \d\d\/\d\d\/\d{4} \d\d:\d\d/);
    // Every indicator of the entitlement has its line.
    await expect(section.locator('tbody tr').count()).resolves.toBe(x.indicators.length);
    await row.getByRole('button').first().click();
    await expect(page.evaluate(`document.activeElement?.id ?? ''`)).resolves.toBe(`evt-${video.evidence[0]!.eventId}`);
    await section.scrollIntoViewIfNeeded();
    await expectAccessible('pourquoi-chaque-euro');
    await shot('25-pourquoi-chaque-euro');
  });

  it('POST /v1/controls answers the position reached, and a 412 carries details.position', async () => {
    const controller = await token({ role: 'controller', caisse: '441' });
    const opened = await call('POST', '/v1/controls', controller, {
      rpps: GP,
      year: 2023,
      indicators: ['V2_VIDEO'],
      reason: 'Ciblage : lecture de ses écritures',
    });
    expect(opened.position).toMatch(/^\d+$/);
    const history = (await call('GET', `/v1/doctors/${GP}/history?year=2023&minPosition=${String(opened.position)}`, controller)).events as {
      eventId: string;
      position: string;
    }[];
    expect(history.find((e) => e.eventId === opened.eventId)?.position).toBe(opened.position);
    const stale = await fetch(`${system.url}/v1/controls/${String(opened.controlId)}/findings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${controller}`, 'content-type': 'application/json', 'if-match': `"${Number(opened.revision) - 1}"` },
      body: JSON.stringify({ indicator: 'V2_VIDEO', outcome: 'confirmed', reason: 'facture conforme' }),
    });
    const refused = (await stale.json()) as { code: string; details: { position: string; actual: string } };
    expect([stale.status, refused.code, refused.details.position, refused.details.actual]).toEqual([
      412,
      'STALE_REVISION',
      opened.position,
      String(opened.revision),
    ]);
  });

  it('an agent keys the first paper form of an empty doctor-year: If-Match "-1", a lost answer retried with the same Idempotency-Key, recorded once; a 412 reloads at its position', async () => {
    const fresh = withRppsCheckDigit('1000000004');
    const admin = await token({ role: 'admin' });
    await call('PUT', `/v1/doctors/${fresh}`, admin, { specialty: 'medecine-generale', caisse: '751', department: '75', name: 'Paul Girard' });
    const agent = await token({ role: 'agent', caisse: '751' });
    const sent: { ifMatch: string | null; key: string | null }[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith(`/v1/doctors/${fresh}/campaigns/2023/declarations`))
        sent.push({ ifMatch: r.headers()['if-match'] ?? null, key: r.headers()['idempotency-key'] ?? null });
    });
    // The first sending reaches the API, which records it; its answer is lost on the way back.
    let lost = 0;
    await page.route(`**/v1/doctors/${fresh}/campaigns/2023/declarations`, async (route) => {
      if (lost === 0) {
        lost += 1;
        await route.fetch();
        await route.abort('connectionreset');
        return;
      }
      await route.continue();
    });

    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Agent de la caisse', { caisse: '751' });
    await page.getByRole('heading', { level: 1, name: 'Justificatifs à traiter' }).waitFor();
    await page.goto(`${system.url}/console/medecins/${fresh}/2023`);
    await page.getByRole('heading', { level: 1, name: `Médecin ${fresh} — campagne 2023` }).waitFor();
    await page.getByRole('heading', { name: 'Saisir un formulaire papier' }).waitFor();
    await typeDate(page.getByRole('combobox', { name: 'Reçu le (date)' }), '18/01/2024');
    await typeTime(page.getByRole('textbox', { name: 'Reçu à (heure de Paris)' }), '09:30');
    await page.getByLabel('Le formulaire porte l’attestation sur l’honneur signée').check();
    await submit('Enregistrer le formulaire', 'paper', 'Vidéotransmission sécurisée, reçu le 18/01/2024 09:30, heure de Paris');
    // Sent twice (the retry after the lost answer), with the same key and If-Match "-1"; recorded once.
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual({ ifMatch: '"-1"', key: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(sent[1]).toEqual(sent[0]);
    const declared = () =>
      call('GET', `/v1/doctors/${fresh}/history?year=2023`, agent).then(
        (h) => (h.events as { type: string }[]).filter((e) => e.type === 'IndicatorDeclared').length,
      );
    await expect(declared()).resolves.toBe(1);
    await page.unroute(`**/v1/doctors/${fresh}/campaigns/2023/declarations`);

    // A colleague writes meanwhile: the next form (a new intent: a new key) is refused, and the page reloads at the 412's position.
    const colleague = await call('POST', `/v1/doctors/${fresh}/campaigns/2023/declarations`, agent, {
      indicator: 'V2_MAITRE_STAGE',
      value: { answer: true },
      attestation: true,
      channel: 'back-office',
    });
    const reloads: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && r.url().includes(`/v1/doctors/${fresh}/history`)) reloads.push(r.url());
    });
    const refusal = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/declarations') && r.status() === 412);
    await page.getByLabel('Le formulaire porte l’attestation sur l’honneur signée').check();
    await page.getByRole('button', { name: 'Enregistrer le formulaire' }).click();
    const body = (await (await refusal).json()) as { details: { position: string } };
    expect(body.details.position).toBe(colleague.position);
    await page
      .getByTestId('paper-conflict')
      .filter({ hasText: /Maître de stage \(Agent de la caisse 751, back-office de la caisse\)/ })
      .waitFor();
    expect(reloads.some((u) => u.endsWith(`minPosition=${String(colleague.position)}`))).toBe(true);
    expect(sent).toHaveLength(3);
    expect(sent[2]!.key).not.toBe(sent[0]!.key);
    expect(sent[2]!.ifMatch).toBe('"0"');
    // Decided again on the newer state: a new intent again, recorded.
    await page.getByRole('button', { name: 'Enregistrer le formulaire' }).click();
    await page.getByTestId('paper-notice').waitFor();
    expect(sent).toHaveLength(4);
    expect(sent[3]!.ifMatch).toBe('"1"');
    expect(new Set(sent.map((x) => x.key)).size).toBe(3);
    await expect(declared()).resolves.toBe(3);
  });

  it('the justificatifs worklist says what each justificatif proves, and its status filter lists what the API lists', async () => {
    const agent = await token({ role: 'agent', caisse: '751' });
    await page.goto(`${system.url}/console/justificatifs`);
    await page.getByRole('heading', { level: 1, name: 'Justificatifs à traiter' }).waitFor();
    for (const [option, status, word] of [
      ['Validés', 'validated', 'validé'],
      ['Rejetés', 'rejected', 'rejeté'],
      ['En attente', 'pending', 'en attente'],
    ] as const) {
      const items = (await call('GET', `/v1/justificatifs?status=${status}`, agent)).items as { id: string; subjects: string[] | null }[];
      await choose(page.getByRole('combobox', { name: 'Statut' }), option);
      await page
        .getByTestId('count')
        .filter({ hasText: new RegExp(`^${items.length} justificatifs? ${word}`) })
        .waitFor();
      await expect(page.getByTestId('subjects').count()).resolves.toBe(items.length);
    }
    // The seeded justificatif (rejected) proves the Ségur software and its LAP (INT-7).
    const rejected = (await call('GET', '/v1/justificatifs?status=rejected', agent)).items as { subjects: string[] }[];
    expect(rejected[0]!.subjects).toEqual(['SEGUR', 'LAP']);
    await choose(page.getByRole('combobox', { name: 'Statut' }), 'Rejetés');
    await page
      .getByTestId('subjects')
      .filter({ hasText: /^logiciel référencé Ségur, LAP certifié HAS$/ })
      .waitFor();
    // Keyboard: the status list opens on Enter and moves with the arrows.
    await page.getByRole('combobox', { name: 'Statut' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('option', { name: 'Validés' }).waitFor();
    await page.keyboard.press('Escape');
    await expectAccessible('justificatifs-preuves');
    await shot('26-justificatifs-preuves');
  });

  it('an auditor reads the justificatifs worklist (accessible) and downloads the audit bundle as a PDF', async () => {
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Auditeur (enquêteur)');
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await page.getByRole('link', { name: 'Justificatifs' }).click();
    await page.getByRole('heading', { level: 1, name: 'Justificatifs à traiter' }).waitFor();
    await page.getByText('Toutes les caisses (lecture seule).').waitFor();
    await choose(page.getByRole('combobox', { name: 'Statut' }), 'Rejetés');
    await page.getByTestId('subjects').first().waitFor();
    await expectAccessible('justificatifs-auditeur');
    await shot('27-justificatifs-auditeur');

    await page.goto(`${system.url}/console/medecins/${GP}/2023`);
    await page.getByRole('heading', { level: 1, name: `Médecin ${GP} — campagne 2023` }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Télécharger le dossier (PDF)' }).click()]);
    expect(download.suggestedFilename()).toBe(`dossier-audit-${GP}-2023.pdf`);
    const pdf = readFileSync(await download.path());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.subarray(-32).toString('latin1')).toContain('%%EOF');
    expect(pdf.length).toBeGreaterThan(2000);
  });

  it('the imports screen lists each batch with its rejected items (index, code), those of the user’s caisse; the auditor sees all', async () => {
    const system_ = await signDevToken(readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim(), { role: 'system' });
    // One batch naming doctors of 441 and 751 (one item good, three rejected), one naming 751's only.
    // Both sent under one X-Correlation-Id (a client's nightly run id, say): each batch is listed all the same.
    const run = { headers: { 'x-correlation-id': 'nightly-run-2024-01-20' } };
    const mixed = await request(
      system.url,
      'POST',
      '/v1/imports/measures',
      system_,
      {
        source: 'SNDS',
        items: [
          { rpps: GP, year: 2023, indicator: 'V2_AAT', numerator: 80, denominator: 100 },
          { rpps: GP, year: 2023, indicator: 'V2_AAT' },
          { rpps: CARDIO, year: 2023, indicator: 'V2_AAT' },
          { rpps: '123', year: 2023, indicator: 'V2_AAT', numerator: 1, denominator: 2 },
        ],
      },
      run,
    );
    expect(mixed.body).toMatchObject({ received: 4, appended: 1, status: 'partial' });
    const own = await request(
      system.url,
      'POST',
      '/v1/imports/measures',
      system_,
      { source: 'SNDS', items: [{ rpps: CARDIO, year: 2023, indicator: 'V2_AAT', numerator: 90, denominator: 100 }] },
      run,
    );
    expect(own.status).toBe(200);
    // A CSV extract naming both caisses' doctors, its third line rejected: listed once imported.
    const csv = ['rpps,year,indicator,numerator,denominator', `${GP},2023,V2_DMP,30,100`, `${CARDIO},2023,V2_DMP,abc,100`].join('\n');
    const accepted = await request(system.url, 'POST', '/v1/imports/measures?source=CSV-TEST', system_, csv, { contentType: 'text/csv' });
    expect(accepted.status).toBe(202);
    await eventually(
      async () => {
        const job = await request(system.url, 'GET', `/v1/jobs/${encodeURIComponent(String(accepted.body.jobId))}`, system_);
        if (job.body.state === 'failed') throw new Error(`the CSV import failed: ${String(job.body.failedReason)}`);
        return job.body.state === 'completed' ? job.body : undefined;
      },
      30_000,
      'the CSV import',
    );
    type Listed = { batches: { kind: string; received: number; rejectedCount: number; status: string; rejected: { index: number; code: string }[] }[] };
    const as = async (claims: Record<string, string>) => (await call('GET', '/v1/imports', await token(claims))) as unknown as Listed;
    const seen441 = (await as({ role: 'controller', caisse: '441' })).batches;
    // Newest first: the CSV extract (its rejected line is the cardiologist's, of 751), the mixed batch; 751's own batch not at all.
    expect(seen441.map((b) => [b.kind, b.received, b.rejectedCount, b.status, b.rejected.map((r) => [r.index, r.code])])).toEqual([
      ['measures-csv', 2, 1, 'partial', []],
      [
        'measures',
        4,
        3,
        'partial',
        [
          [1, 'VALUE_INVALID'],
          [3, 'VALIDATION_FAILED'],
        ],
      ],
    ]);
    const seen751 = (await as({ role: 'agent', caisse: '751' })).batches;
    expect(seen751.map((b) => [b.kind, b.received, b.rejected.map((r) => r.index)])).toEqual([
      ['measures-csv', 2, [1]],
      ['measures', 1, []],
      ['measures', 4, [2, 3]],
    ]);
    expect((await as({ role: 'auditor' })).batches.map((b) => [b.kind, b.received, b.rejected.map((r) => r.index)])).toEqual([
      ['measures-csv', 2, [1]],
      ['measures', 1, []],
      ['measures', 4, [1, 2, 3]],
    ]);
    const doctor = await request(system.url, 'GET', '/v1/imports', await token({ role: 'doctor', rpps: GP }));
    expect(doctor.status).toBe(403);

    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await signIn('Contrôleur de la caisse', { caisse: '441' });
    await page.getByRole('heading', { level: 1, name: 'Rechercher un médecin' }).waitFor();
    await page.getByRole('link', { name: 'Imports' }).click();
    await page.getByRole('heading', { level: 1, name: 'Imports' }).waitFor();
    await page.getByTestId('imports-rejected-alert').filter({ hasText: '2 lots ont des éléments rejetés' }).waitFor();
    await expect(page.getByTestId('count').textContent()).resolves.toBe('2 lots');
    await expect(page.getByTestId('rejected-item').allTextContents()).resolves.toEqual([
      expect.stringMatching(new RegExp(`^\\s*élément n° 1, médecin ${GP} : VALUE_INVALID — `)),
      expect.stringMatching(/^\s*élément n° 3, médecin 123 : VALIDATION_FAILED — /),
    ]);
    // Each batch says how many of its rejected items another caisse's doctors account for.
    await expect(page.getByText('1 autre élément rejeté n’est pas listé ici').count()).resolves.toBe(2);
    await expect(page.getByTestId('imports').getByRole('row').filter({ hasText: 'SNDS' }).textContent()).resolves.toMatch(
      /^20\/01\/2024 \d\d:\d\dmesures — SNDS4\d+3en partie rejeté$/,
    );
    await expect(page.getByTestId('imports').getByRole('row').filter({ hasText: 'CSV-TEST' }).textContent()).resolves.toMatch(
      /^20\/01\/2024 \d\d:\d\dmesures \(extrait CSV\) — CSV-TEST2101en partie rejeté$/,
    );
    // Keyboard: the navigation reaches the screen's link, and Enter opens it.
    await page.getByRole('link', { name: 'Tableau de bord' }).focus();
    await page.keyboard.press('Tab');
    await expect(page.evaluate(`document.activeElement?.textContent?.trim()`)).resolves.toBe('Imports');
    await expectAccessible('imports');
    await shot('28-imports', { fullPage: true });
  });
});

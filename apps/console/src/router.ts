import { createRouter, createWebHistory } from 'vue-router';
import { auth } from './api';
import SignIn from './views/SignIn.vue';
import SignInReturn from './views/SignInReturn.vue';
import DoctorSearch from './views/DoctorSearch.vue';
import DoctorYear from './views/DoctorYear.vue';
import Justificatifs from './views/Justificatifs.vue';
import NotFound from './views/NotFound.vue';
import Integrity from './views/Integrity.vue';
import Controls from './views/Controls.vue';
import Dashboard from './views/Dashboard.vue';
import Imports from './views/Imports.vue';

// Real paths under /console/ (the API answers index.html for any of them), so that in-page
// anchors such as the skip link's #main stay anchors.
export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/', redirect: '/connexion' },
    { path: '/connexion', name: 'connexion', component: SignIn, meta: { title: 'Connexion' } },
    { path: '/connexion/retour', name: 'connexion-retour', component: SignInReturn, meta: { title: 'Connexion' } },
    { path: '/medecins', name: 'medecins', component: DoctorSearch, meta: { title: 'Rechercher un médecin' } },
    {
      path: '/medecins/:rpps(\\d{11})/:year(\\d{4})',
      name: 'medecin-annee',
      component: DoctorYear,
      props: (r) => ({ rpps: String(r.params.rpps), year: Number(r.params.year) }),
      meta: { title: 'Dossier du médecin' },
    },
    { path: '/justificatifs', name: 'justificatifs', component: Justificatifs, meta: { title: 'Justificatifs' } },
    { path: '/controles', name: 'controles', component: Controls, meta: { title: 'Contrôles' } },
    { path: '/tableau-de-bord', name: 'tableau-de-bord', component: Dashboard, meta: { title: 'Tableau de bord' } },
    { path: '/imports', name: 'imports', component: Imports, meta: { title: 'Imports' } },
    { path: '/integrite', name: 'integrite', component: Integrity, meta: { title: 'Intégrité' } },
    { path: '/:rest(.*)*', name: 'introuvable', component: NotFound, meta: { title: 'Page introuvable' } },
  ],
});

// Without a session every screen but the sign-in leads there.
router.beforeEach((to) => (!auth.session && to.name !== 'connexion' && to.name !== 'connexion-retour' ? { name: 'connexion' } : true));

// Each screen has its own document title and, once shown, focus on its heading (keyboard and
// screen-reader users learn where they are).
router.afterEach((to, from) => {
  document.title = `${String(to.meta.title ?? 'Console')} — Forfait structure`;
  if (to.path !== from.path) setTimeout(() => document.querySelector<HTMLElement>('#main h1')?.focus(), 0);
});

export function go(path: string): void {
  void router.push(path);
}

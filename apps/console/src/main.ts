import { createApp } from 'vue';
import 'vuetify/styles';
import '@cnamts/synapse/synapse.css';
import { createVuetifyInstance } from '@cnamts/synapse/vuetifyConfig';
import App from './App.vue';
import { router } from './router';
import { resumeOidc } from './api';

// Synapse's own Vuetify instance: the "cnam" theme, its tokens, French locale, @mdi/js SVG icons.
const vuetify = createVuetifyInstance();
// Labels and hints at Vuetify's default medium emphasis fall below 4.5:1 on white (axe,
// color-contrast): the theme's own variable is raised rather than each component restyled.
const cnam = vuetify.theme.themes.value.cnam;
if (cnam) cnam.variables['medium-emphasis-opacity'] = 0.87;
createApp(App).use(vuetify).use(router).mount('#app');
// A session from the caisse's identity provider keeps its token renewed across reloads.
void resumeOidc();

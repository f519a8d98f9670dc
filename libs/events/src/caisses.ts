/**
 * The caisses primaires d'assurance maladie by their 3-digit code (pure data, no I/O): the names
 * printed on the caisse's documents and answered beside the code (`caisseName`).
 *
 * Source and limits. No list of CPAM codes is among the spec's source documents
 * (/work/shared/seeds): this referential holds the codes the demo (441, 751, 691) and the generator
 * (department + "1", libs/generator) use. A CPAM's code is its department's number followed by its
 * rank in the department, and a department with one CPAM has it as "CPAM de <département>" (CPAM
 * de Paris, CPAM de la Loire-Atlantique); the departments' names and their article are INSEE's
 * Code officiel géographique. Departments with several CPAM (Nord, Pas-de-Calais,
 * Pyrénées-Atlantiques, Seine-Maritime) are left without a name: which of their caisses holds
 * which rank is not in the sources at hand, and a wrong name on a signed document is worse than
 * none. A code outside the table is answered by its department (`caisseLabel`). Replace with the
 * Assurance Maladie's referential of organisations when it is available.
 */

/** INSEE's department names with the article "CPAM" takes before them (de, du, de la, de l’, des). */
const DEPARTMENTS: Readonly<Record<string, readonly [article: string, name: string]>> = {
  '01': ['de l’', 'Ain'],
  '02': ['de l’', 'Aisne'],
  '03': ['de l’', 'Allier'],
  '04': ['des ', 'Alpes-de-Haute-Provence'],
  '05': ['des ', 'Hautes-Alpes'],
  '06': ['des ', 'Alpes-Maritimes'],
  '07': ['de l’', 'Ardèche'],
  '08': ['des ', 'Ardennes'],
  '09': ['de l’', 'Ariège'],
  '10': ['de l’', 'Aube'],
  '11': ['de l’', 'Aude'],
  '12': ['de l’', 'Aveyron'],
  '13': ['des ', 'Bouches-du-Rhône'],
  '14': ['du ', 'Calvados'],
  '15': ['du ', 'Cantal'],
  '16': ['de la ', 'Charente'],
  '17': ['de la ', 'Charente-Maritime'],
  '18': ['du ', 'Cher'],
  '19': ['de la ', 'Corrèze'],
  '21': ['de la ', 'Côte-d’Or'],
  '22': ['des ', 'Côtes-d’Armor'],
  '23': ['de la ', 'Creuse'],
  '24': ['de la ', 'Dordogne'],
  '25': ['du ', 'Doubs'],
  '26': ['de la ', 'Drôme'],
  '27': ['de l’', 'Eure'],
  '28': ['d’', 'Eure-et-Loir'],
  '29': ['du ', 'Finistère'],
  '30': ['du ', 'Gard'],
  '31': ['de la ', 'Haute-Garonne'],
  '32': ['du ', 'Gers'],
  '33': ['de la ', 'Gironde'],
  '34': ['de l’', 'Hérault'],
  '35': ['d’', 'Ille-et-Vilaine'],
  '36': ['de l’', 'Indre'],
  '37': ['d’', 'Indre-et-Loire'],
  '38': ['de l’', 'Isère'],
  '39': ['du ', 'Jura'],
  '40': ['des ', 'Landes'],
  '41': ['de ', 'Loir-et-Cher'],
  '42': ['de la ', 'Loire'],
  '43': ['de la ', 'Haute-Loire'],
  '44': ['de la ', 'Loire-Atlantique'],
  '45': ['du ', 'Loiret'],
  '46': ['du ', 'Lot'],
  '47': ['de ', 'Lot-et-Garonne'],
  '48': ['de la ', 'Lozère'],
  '49': ['de ', 'Maine-et-Loire'],
  '50': ['de la ', 'Manche'],
  '51': ['de la ', 'Marne'],
  '52': ['de la ', 'Haute-Marne'],
  '53': ['de la ', 'Mayenne'],
  '54': ['de ', 'Meurthe-et-Moselle'],
  '55': ['de la ', 'Meuse'],
  '56': ['du ', 'Morbihan'],
  '57': ['de la ', 'Moselle'],
  '58': ['de la ', 'Nièvre'],
  '59': ['du ', 'Nord'],
  '60': ['de l’', 'Oise'],
  '61': ['de l’', 'Orne'],
  '62': ['du ', 'Pas-de-Calais'],
  '63': ['du ', 'Puy-de-Dôme'],
  '64': ['des ', 'Pyrénées-Atlantiques'],
  '65': ['des ', 'Hautes-Pyrénées'],
  '66': ['des ', 'Pyrénées-Orientales'],
  '67': ['du ', 'Bas-Rhin'],
  '68': ['du ', 'Haut-Rhin'],
  '69': ['du ', 'Rhône'],
  '70': ['de la ', 'Haute-Saône'],
  '71': ['de ', 'Saône-et-Loire'],
  '72': ['de la ', 'Sarthe'],
  '73': ['de la ', 'Savoie'],
  '74': ['de la ', 'Haute-Savoie'],
  '75': ['de ', 'Paris'],
  '76': ['de la ', 'Seine-Maritime'],
  '77': ['de ', 'Seine-et-Marne'],
  '78': ['des ', 'Yvelines'],
  '79': ['des ', 'Deux-Sèvres'],
  '80': ['de la ', 'Somme'],
  '81': ['du ', 'Tarn'],
  '82': ['de ', 'Tarn-et-Garonne'],
  '83': ['du ', 'Var'],
  '84': ['de ', 'Vaucluse'],
  '85': ['de la ', 'Vendée'],
  '86': ['de la ', 'Vienne'],
  '87': ['de la ', 'Haute-Vienne'],
  '88': ['des ', 'Vosges'],
  '89': ['de l’', 'Yonne'],
  '90': ['du ', 'Territoire de Belfort'],
  '91': ['de l’', 'Essonne'],
  '92': ['des ', 'Hauts-de-Seine'],
  '93': ['de la ', 'Seine-Saint-Denis'],
  '94': ['du ', 'Val-de-Marne'],
  '95': ['du ', 'Val-d’Oise'],
};

/** Departments with more than one CPAM: their ranks are not named here (see above). */
const SEVERAL_CPAM = new Set(['59', '62', '64', '76']);

/** The CPAM names by 3-digit code: rank 1 of each department that has a single CPAM. */
export const CPAM_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(DEPARTMENTS)
    .filter(([department]) => !SEVERAL_CPAM.has(department))
    .map(([department, [article, name]]) => [`${department}1`, `CPAM ${article}${name}`]),
);

/** The CPAM's name of a 3-digit code, or undefined when this referential does not name it. */
export function caisseName(code: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(CPAM_NAMES, code) ? CPAM_NAMES[code] : undefined;
}

/** The department's name of a caisse code (its first two digits), when it is a department. */
export function caisseDepartmentName(code: string): string | undefined {
  return DEPARTMENTS[code.slice(0, 2)]?.[1];
}

/** How a document names a caisse: "CPAM de Paris (751)", else "caisse 592 (Nord)", else "caisse 999". */
export function caisseLabel(code: string): string {
  const name = caisseName(code);
  if (name) return `${name} (${code})`;
  const department = caisseDepartmentName(code);
  return department ? `caisse ${code} (${department})` : `caisse ${code}`;
}

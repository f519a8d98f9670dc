import { CPAM_NAMES, caisseLabel, caisseName } from './caisses';

describe('the CPAM referential', () => {
  it('names the demo’s caisses and the generator’s (department + 1), with the department’s article', () => {
    expect(caisseName('751')).toBe('CPAM de Paris');
    expect(caisseName('441')).toBe('CPAM de la Loire-Atlantique');
    expect(caisseName('691')).toBe('CPAM du Rhône');
    expect(caisseName('131')).toBe('CPAM des Bouches-du-Rhône');
    expect(caisseName('011')).toBe('CPAM de l’Ain');
    expect(caisseName('281')).toBe('CPAM d’Eure-et-Loir');
    for (let d = 1; d <= 95; d += 1) {
      const department = String(d).padStart(2, '0');
      if (department === '20' || ['59', '62', '64', '76'].includes(department)) continue;
      expect(CPAM_NAMES[`${department}1`]).toMatch(/^CPAM (de |du |de la |de l’|d’|des )\S/);
    }
  });

  it('names no caisse of a department with several CPAM, nor an unknown code, and labels them by their department', () => {
    expect(caisseName('591')).toBeUndefined();
    expect(caisseName('999')).toBeUndefined();
    expect(caisseName('toString')).toBeUndefined();
    expect(caisseLabel('751')).toBe('CPAM de Paris (751)');
    expect(caisseLabel('592')).toBe('caisse 592 (Nord)');
    expect(caisseLabel('999')).toBe('caisse 999');
  });
});

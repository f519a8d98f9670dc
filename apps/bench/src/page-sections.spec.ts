import { sectionOf, withSection } from './page-sections';

const STORE = ['<!-- store-workloads:start -->', '<!-- store-workloads:end -->'] as const;
const CONSOLE = ['<!-- console:start -->', '<!-- console:end -->'] as const;

describe('docs/benchmarks.md sections between markers', () => {
  const page = [
    '# Benchmarks',
    '',
    'figures',
    '',
    STORE[0],
    '## Write path',
    'W1 …',
    STORE[1],
    '',
    '## Analysis',
    '',
    CONSOLE[0],
    '## Console',
    '| 412 ms |',
    CONSOLE[1],
    '',
  ].join('\n');

  it('reads a section with its markers, or nothing when the page has none', () => {
    expect(sectionOf(page, ...STORE)).toBe(`${STORE[0]}\n## Write path\nW1 …\n${STORE[1]}`);
    expect(sectionOf(page, ...CONSOLE)).toBe(`${CONSOLE[0]}\n## Console\n| 412 ms |\n${CONSOLE[1]}`);
    expect(sectionOf('# Benchmarks\n', ...CONSOLE)).toBeUndefined();
    expect(sectionOf(`${CONSOLE[1]} then ${CONSOLE[0]}`, ...CONSOLE)).toBeUndefined();
  });

  it('--from-results: a page written anew gets back the sections the old one had, in place or at the end', () => {
    // What --from-results writes before putting the kept sections back: the figures it re-renders, no console section.
    const fresh = ['# Benchmarks', '', 'figures re-rendered', '', sectionOf(page, ...STORE)!, '', '## Analysis', ''].join('\n');
    const kept = withSection(fresh, sectionOf(page, ...CONSOLE)!, ...CONSOLE);
    expect(sectionOf(kept, ...CONSOLE)).toBe(sectionOf(page, ...CONSOLE));
    expect(sectionOf(kept, ...STORE)).toBe(sectionOf(page, ...STORE));
    expect(kept.startsWith(fresh.trimEnd())).toBe(true);
    // A newer console figure replaces the old one where it stands, the rest untouched.
    const newer = `${CONSOLE[0]}\n## Console\n| 398 ms, with $& and $1 |\n${CONSOLE[1]}`;
    const replaced = withSection(kept, newer, ...CONSOLE);
    expect(sectionOf(replaced, ...CONSOLE)).toBe(newer);
    expect(replaced.replace(newer, '')).toBe(kept.replace(sectionOf(kept, ...CONSOLE)!, ''));
  });
});

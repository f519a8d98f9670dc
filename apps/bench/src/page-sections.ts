// docs/benchmarks.md is written by several runs (the full one, `--only store`, `--only console`,
// `--from-results`): each owns a section between its own markers, and a run that does not measure
// a section keeps it as the page has it.

/** The text from `start` to `end`, both markers included, or undefined when the page has no such section. */
export function sectionOf(page: string, start: string, end: string): string | undefined {
  const a = page.indexOf(start);
  const b = a >= 0 ? page.indexOf(end, a) : -1;
  return a >= 0 && b > a ? page.slice(a, b + end.length) : undefined;
}

/** The page with `section` in place of its own between the same markers, or added at the end when it has none. */
export function withSection(page: string, section: string, start: string, end: string): string {
  const old = sectionOf(page, start, end);
  return old !== undefined ? page.replace(old, () => section) : `${page.trimEnd()}\n\n${section}\n`;
}

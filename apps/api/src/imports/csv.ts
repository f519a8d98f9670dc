/**
 * CSV extracts of measures: one line per item, with a header. Columns: rpps, year, indicator, and
 * as the indicator needs: numerator, denominator, participates (true/false),
 * teletransmittedPreviousYear (true/false), firstFseOn (YYYY-MM-DD), months
 * ("2023-01:80/100;2023-02:70/100" for monthly FSE/total counts). Empty cells are absent values.
 */
export const CSV_COLUMNS = ['rpps', 'year', 'indicator', 'numerator', 'denominator', 'participates', 'teletransmittedPreviousYear', 'firstFseOn', 'months'] as const;

export function csvRecordToItem(record: Record<string, string>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(record)) {
    const value = raw.trim();
    if (value === '') continue;
    switch (key) {
      case 'year':
      case 'numerator':
      case 'denominator':
        item[key] = /^-?\d+$/.test(value) ? Number(value) : value;
        break;
      case 'participates':
      case 'teletransmittedPreviousYear':
        item[key] = value === 'true' ? true : value === 'false' ? false : value;
        break;
      case 'months':
        item.months = value.split(';').map((part) => {
          const m = /^(\d{4}-\d{2}):(\d+)\/(\d+)$/.exec(part.trim());
          return m ? { month: m[1], fse: Number(m[2]), total: Number(m[3]) } : { month: part };
        });
        break;
      default:
        // Unknown columns are passed on, and the item's validation names them.
        item[key] = value;
    }
  }
  return item;
}

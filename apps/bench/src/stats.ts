import { cpus, totalmem, type } from 'node:os';

/** A figure measured over several runs: the median, the extremes, and every run. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** The median (the lower of the two middle runs when their number is even), min and max of `runs`. */
export const stat = (runs: number[]): Stat => {
  const s = [...runs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)]!, min: s[0]!, max: s[s.length - 1]!, runs };
};

/** The lower median of `values` (as `stat`). */
export const median = (values: number[]): number => stat(values).median;

/** The nearest-rank `p`-th percentile of `values`. */
export const percentile = (values: number[], p: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** The machine a figure was measured on, as the benchmark pages state it: CPUs, RAM, OS and Node. */
export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GiB RAM, ${type()}; Node ${process.version}`;
}

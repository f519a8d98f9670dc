import { performance } from 'node:perf_hooks';

/** The server's notion of now. Injected everywhere; nothing else reads the system time. */
export interface Clock {
  now(): Date;
  /**
   * How far this clock was set on purpose from the system's (`CLOCK=<instant>`, refused in
   * production), in ms: the event store's skew bound measures the writer's clock against the
   * database's beyond that distance. Absent: none (a test's ManualClock ahead is a skewed writer).
   */
  offsetMs?(): number;
}

/** The system clock, made non-decreasing (a wall clock can step back under NTP). */
export class SystemClock implements Clock {
  private last = 0;
  now(): Date {
    this.last = Math.max(this.last, Date.now());
    return new Date(this.last);
  }
}

/**
 * `CLOCK=<instant>`: starts at that instant and runs at the speed of a monotonic timer, so a demo
 * or a test can live through a past campaign (architecture.md, "Time").
 */
export class RunningClock implements Clock {
  private startedAt = performance.now();
  constructor(private start: Date) {}
  now(): Date {
    return new Date(this.start.getTime() + Math.floor(performance.now() - this.startedAt));
  }
  offsetMs(): number {
    return this.now().getTime() - Date.now();
  }
  /** Goes on from `instant` when it is later than now (a demo store restarted on its CLOCK resumes where it stopped). */
  resumeFrom(instant: Date): boolean {
    if (instant.getTime() <= this.now().getTime()) return false;
    this.start = instant;
    this.startedAt = performance.now();
    return true;
  }
}

/** A clock that moves only when told to: for tests. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(instant: Date | string): void {
    this.current = new Date(instant).getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export function clockFromSetting(clock: string | undefined): Clock {
  return clock ? new RunningClock(new Date(clock)) : new SystemClock();
}

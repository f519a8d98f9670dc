import { performance } from 'node:perf_hooks';

/** The server's notion of now. Injected everywhere; nothing else reads the system time. */
export interface Clock {
  now(): Date;
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
  private readonly startedAt = performance.now();
  constructor(private readonly start: Date) {}
  now(): Date {
    return new Date(this.start.getTime() + Math.floor(performance.now() - this.startedAt));
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

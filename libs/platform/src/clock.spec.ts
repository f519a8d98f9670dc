import { ManualClock, RunningClock, SystemClock, clockFromSetting } from './clock';

describe('server clock', () => {
  it('CLOCK=<instant> starts there and then runs forward', async () => {
    const clock = clockFromSetting('2024-02-04T23:59:59.900+01:00');
    expect(clock).toBeInstanceOf(RunningClock);
    const first = clock.now().getTime();
    expect(first).toBeGreaterThanOrEqual(Date.parse('2024-02-04T22:59:59.900Z'));
    expect(first).toBeLessThan(Date.parse('2024-02-04T23:00:00.900Z'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.now().getTime()).toBeGreaterThan(first);
  });

  it('unset CLOCK is the system clock, which never answers an earlier instant than before, even when the wall clock steps back', () => {
    const clock = clockFromSetting(undefined);
    expect(clock).toBeInstanceOf(SystemClock);
    // An NTP step back of a second between two reads, then the wall clock catching up.
    const wall = [1_700_000_001_000, 1_700_000_000_000, 1_700_000_000_500, 1_700_000_002_000];
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => wall.shift()!);
    try {
      const seen = [clock.now(), clock.now(), clock.now(), clock.now()].map((d) => d.getTime());
      expect(seen).toEqual([1_700_000_001_000, 1_700_000_001_000, 1_700_000_001_000, 1_700_000_002_000]);
    } finally {
      spy.mockRestore();
    }
  });

  it('a manual clock moves only when told', () => {
    const clock = new ManualClock('2024-01-01T00:00:00Z');
    clock.advance(1500);
    expect(clock.now().toISOString()).toBe('2024-01-01T00:00:01.500Z');
  });
});

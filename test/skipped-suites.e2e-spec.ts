import { spawn } from 'node:child_process';
import { join } from 'node:path';

// The README says the EventStoreDB contract tests, without EVENTSTORE_CONNECTION_STRING, print that
// they were skipped and why (issue 18.5): jest itself hides the console of an all-skipped suite, so
// this runs that suite as `npm test` does (jest, its own config) and reads what the terminal shows.
const ROOT = join(__dirname, '..');

describe("npm test's output", () => {
  it('says the EventStoreDB suites were skipped, and why, when no server is configured', async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? ROOT,
      NODE_OPTIONS: '--experimental-vm-modules',
      NO_COLOR: '1',
    };
    const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--runTestsByPath', 'libs/store/src/eventstoredb/esdb.int-spec.ts'],
        { cwd: ROOT, env },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('exit', (code) => resolve({ code, output }));
    });
    expect(run.code).toBe(0);
    // The store contract on EventStoreDB, the adapter's own server cases, and those of a non-admin user.
    expect(run.output).toMatch(
      /^\[contract\] eventstoredb: SKIPPED, EVENTSTORE_CONNECTION_STRING is not set \(no EventStoreDB server on this machine; start one with docker-compose and set it\)$/m,
    );
    expect(run.output).toMatch(/^\[eventstoredb\] EventStoreDB adapter against the server: SKIPPED, EVENTSTORE_CONNECTION_STRING is not set/m);
    expect(run.output).toMatch(
      /^\[eventstoredb\] EventStoreDB adapter as a non-admin user on a secure node: SKIPPED, EVENTSTORE_READER_CONNECTION_STRING is not set/m,
    );
    expect(run.output).toMatch(/Tests: +\d+ skipped, \d+ total/);
  }, 120_000);
});

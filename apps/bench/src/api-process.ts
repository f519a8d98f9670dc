import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

/** The API in a process of its own (as deployed), on a fixed port; resolves once /health answers. */
export async function startApi(env: Record<string, string>, port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  // Another process on the port would answer /health for ours (another bench on a shared machine).
  const taken = await fetch(`http://127.0.0.1:${port}/health`).then(
    () => true,
    () => false,
  );
  if (taken) throw new Error(`port ${port} is already in use: set BENCH_API_PORT (and BENCH_FLOOR_PORT) to free ports`);
  // BENCH_API_NODE_ARGS: flags for the API's node (e.g. --cpu-prof to profile it under load).
  const nodeArgs = (process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, resolve(__dirname, '../../api/src/main.js')], {
    env: { ...process.env, CLOCK: '2026-03-01T10:00:00+01:00', RUN_PROJECTOR: env.STORE === 'embedded' ? 'true' : 'false', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 600) throw new Error('the API did not answer /health within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

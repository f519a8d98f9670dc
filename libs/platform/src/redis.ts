import Redis from 'ioredis';

export interface RedisStatus {
  ok: boolean;
  url: string;
  detail: string;
}

/** Hides credentials when a Redis URL is printed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** One bounded attempt to reach Redis; jobs are off when it fails, the rest of the system is not. */
export async function probeRedis(url: string, timeoutMs = 1500): Promise<RedisStatus> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong: string = await client.ping(); // typed 'PONG'; a proxy may answer otherwise
    return { ok: pong === 'PONG', url: redactUrl(url), detail: pong === 'PONG' ? 'reachable' : `answered ${pong}` };
  } catch (error) {
    return { ok: false, url: redactUrl(url), detail: (error as Error).message || 'unreachable' };
  } finally {
    client.disconnect();
  }
}

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import * as net from 'node:net';

/** How long idle keep-alive connections stay open after the drain begins. */
const IDLE_LINGER_MS = 500;

/**
 * Graceful stop of an HTTP server (the usual stop-accepting-then-drain of a load-balanced
 * service): `drain(graceMs)` closes the listening socket, lets the requests in flight finish and
 * answers them with `Connection: close`, closes idle keep-alive connections, and once every
 * request is answered (or `graceMs` has passed) closes what is left. Only then may the caller
 * close the pools: a handler still running must not meet a closed pool.
 */
export function drainable(server: Server): { drain(graceMs: number): Promise<{ forced: number }> } {
  let draining = false;
  const inFlight = new Map<net.Socket, number>();
  let settled: (() => void) | undefined;
  const total = () => [...inFlight.values()].reduce((a, b) => a + b, 0);
  let connections = 0;
  server.on('connection', (socket: net.Socket) => {
    connections += 1;
    socket.once('close', () => (connections -= 1));
  });

  // Prepended: the header must be set before the application writes its answer.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    if (draining && !res.headersSent) res.setHeader('connection', 'close');
    res.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      if (left > 0) inFlight.set(socket, left);
      else inFlight.delete(socket);
      if (draining && total() === 0) settled?.();
    });
  });

  return {
    drain: async (graceMs) => {
      draining = true;
      // Only the listening socket: http.Server#close would also cut the idle keep-alive
      // connections at once, and a request a client has just sent on one would be lost with it.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      // Idle connections go after a moment; one that carries a request meanwhile is answered
      // with Connection: close, and the client opens no other.
      const started = Date.now();
      const linger = connections > 0 ? Math.min(IDLE_LINGER_MS, graceMs) : 0;
      if (linger > 0) await new Promise<void>((resolve) => setTimeout(resolve, linger));
      server.closeIdleConnections();
      if (total() > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (settled = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs - (Date.now() - started))))),
        ]);
        clearTimeout(timer);
      }
      const forced = total();
      // Past the grace period, or keep-alive connections left idle: close them all.
      server.closeAllConnections();
      await closed;
      return { forced };
    },
  };
}

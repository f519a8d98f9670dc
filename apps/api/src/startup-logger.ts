import { ConsoleLogger } from '@nestjs/common';

/**
 * Nest's logger without its start-up chatter: one line per module loaded, per controller and per
 * route mapped (InstanceLoader, RoutesResolver, RouterExplorer), and "Starting Nest application".
 * A newcomer's terminal then shows the system's own lines (where the console, the API and the
 * store are: issue 18, "first hour"); warnings and errors of every context still go through.
 */
const CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

export class StartupLogger extends ConsoleLogger {
  override log(message: unknown, ...rest: unknown[]): void {
    if (isChatter(rest)) return;
    super.log(message, ...rest);
  }
}

/** Nest passes the context as the last argument. */
function isChatter(rest: unknown[]): boolean {
  const context = rest.at(-1);
  return typeof context === 'string' && CHATTER.has(context);
}

import type { TransparencyLog } from '@forfait/store';
import type { Projection } from './projection';

/**
 * The sealer: follows the global log like a projection (its checkpoint moves in the transaction
 * that appends the batch's leaves and nodes, so a crash resumes at the last committed batch and a
 * replayed batch seals nothing twice), and signs a checkpoint every N events or T seconds.
 */
export function logSealer(log: TransparencyLog): Projection {
  return {
    name: 'log-sealer',
    version: 1,
    // Not a read model: a rebuild never moves nor drops the tree.
    tables: [],
    fullTypes: () => 'all',
    setup: (tx) => log.setup(tx),
    apply: (tx, _schema, events) => log.seal(tx, events),
  };
}

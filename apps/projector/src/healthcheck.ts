import { ConfigError, clockFromSetting, loadConfig } from '@forfait/platform';
import { projectionStatus } from '@forfait/read-models';
import { openStores } from '@forfait/store';

/**
 * Container health check of the projector: the store and the read-model database answer and every
 * projection has a checkpoint. Exit 0 healthy, 1 not; prints the status either way.
 */
async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const { store, readDb } = await openStores({ ...config, clock: clockFromSetting(config.clock) });
  try {
    const schema = config.databaseSchema === 'public' ? 'rm' : `${config.databaseSchema}_rm`;
    const status = await projectionStatus(readDb, store, schema);
    console.warn(JSON.stringify(status, null, 2));
    return status.length > 0 ? 0 : 1;
  } finally {
    await store.close();
    await readDb.close();
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });

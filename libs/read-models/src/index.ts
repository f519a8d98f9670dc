import { auditTrailProjection } from './projections/audit-trail.projection';
import { registryProjection } from './projections/registry.projection';
import { entitlementProjection } from './projections/entitlement.projection';
import { worklistsProjection } from './projections/worklists.projection';
import { campaignDeadlinesProjection } from './projections/campaign-deadlines.projection';
import type { Projection } from './projection';

export * from './projection';
export * from './projection-runner';
export * from './projections/audit-trail.projection';
export * from './projections/registry.projection';
export * from './projections/entitlement.projection';
export * from './projections/worklists.projection';
export * from './projections/campaign-deadlines.projection';
export * from './reactors/accepted-jobs';
export * from './reactors/import-batches';
export * from './reactors/job-reconciler';
export * from './runtime';
export * from './reactors/deadline-scheduler';
export * from './rebuild';
export * from './log-sealer';

/** Every projection the projector runs. */
export const PROJECTIONS: readonly Projection[] = [
  auditTrailProjection,
  registryProjection,
  entitlementProjection,
  worklistsProjection,
  campaignDeadlinesProjection,
];
export * from './freshness';

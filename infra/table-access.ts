import type { RouteName } from '../lib/routes.js';

/** What each handler may do to the table, and nothing more. */
export const TABLE_ACTIONS: Readonly<Record<RouteName, readonly string[]>> = {
  // The prune deletes each expired key with a conditional DeleteItem (no BatchWriteItem).
  start: ['dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:DeleteItem'],
  check: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  destroy: ['dynamodb:DeleteItem'],
};

/**
 * What a user's function running the library in-process may do to the table: the store does what
 * all three handlers do (start with its prune, check, destroy), so it gets their union, and nothing more.
 */
export const IN_PROCESS_TABLE_ACTIONS: readonly string[] = [...new Set(Object.values(TABLE_ACTIONS).flat())].sort();

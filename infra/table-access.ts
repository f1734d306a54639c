import type { RouteName } from '../lib/routes.js';

/** What each handler may do to the sessions table, and nothing more (none for the streams routes). */
export const TABLE_ACTIONS: Readonly<Record<RouteName, readonly string[]>> = {
  // The prune deletes each expired key with a conditional DeleteItem (no BatchWriteItem).
  start: ['dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:DeleteItem'],
  check: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  destroy: ['dynamodb:DeleteItem'],
  // One conditional UpdateItem; the old item comes back with a failed condition, so no GetItem.
  updateState: ['dynamodb:UpdateItem'],
  appendMessage: [],
  readMessages: [],
  lastSeq: [],
  removeStream: [],
};

/** What each handler may do to the streams table, and nothing more (none for the session routes). */
export const STREAMS_TABLE_ACTIONS: Readonly<Record<RouteName, readonly string[]>> = {
  start: [],
  check: [],
  destroy: [],
  updateState: [],
  // A conditional PutItem at the next number; after a lost race, a Query for the newest.
  appendMessage: ['dynamodb:PutItem', 'dynamodb:Query'],
  readMessages: ['dynamodb:Query'],
  lastSeq: ['dynamodb:Query'],
  // The stream's keys by Query, deleted 25 at a time.
  removeStream: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
};

const union = (actions: Readonly<Record<RouteName, readonly string[]>>): readonly string[] => [...new Set(Object.values(actions).flat())].sort();

/**
 * What a user's function running the library in-process may do to the sessions table: the store does
 * what the session handlers do (start with its prune, check, destroy, updateState), so it gets their
 * union, and nothing more.
 */
export const IN_PROCESS_TABLE_ACTIONS: readonly string[] = union(TABLE_ACTIONS);

/** The same for the streams table: what the streams handlers do together. */
export const IN_PROCESS_STREAMS_TABLE_ACTIONS: readonly string[] = union(STREAMS_TABLE_ACTIONS);

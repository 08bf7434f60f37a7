import { createTestCore } from '../helpers/core';
import { describeListRaces } from './shared/list-races';

// The list races on the shared single Redis; cluster.lists.test.ts runs the same suite on a Redis Cluster.
describeListRaces((hooks) => createTestCore({ hooks, settings: { writeRetries: 0 } }));

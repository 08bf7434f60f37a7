import { createTestCore } from '../helpers/core';
import { describeWriteThroughRaces } from './shared/writethrough-races';

// The races on the shared single Redis; cluster.races.test.ts runs the same suite on a Redis Cluster.
describeWriteThroughRaces((options) => createTestCore({ ...options, settings: { writeRetries: 0 } }));

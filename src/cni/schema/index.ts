/**
 * A small validator with the part of zod v4's API and behaviour Plexus' schemas use (the CNI wire
 * objects, the Plexus conf, the built-in delegates' configs): the same issue codes, paths, English
 * messages and issue order, proven against zod itself by zod-parity.test.ts.
 *
 * Why not zod: every one-shot CNI call (ADD, DEL, STATUS, GC: a fresh Node process each) paid
 * ~35-40 ms for zod, its module evaluation (~95 modules) plus building the schemas, in a STATUS of
 * ~230 ms whose target is 2x a bare `node -e 0` (~160 ms). This module evaluates in well under
 * 1 ms. zod stays a dev dependency for the parity test.
 */
export * as z from './z.ts';

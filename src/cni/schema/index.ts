/**
 * A small validator with the part of zod v4's API and behaviour Plexus' schemas use (the CNI wire
 * objects, the Plexus conf, the built-in delegates' configs): the same issue codes, paths, English
 * messages and issue order, held to zod itself by zod-parity.test.ts on generated corpora.
 *
 * Why not zod, a well-kept library: it costs the hot path. Every one-shot CNI call (ADD, DEL,
 * CHECK, STATUS, GC; a fresh Node process each) loaded zod (95 modules) and built its schemas:
 * ~35-40 ms of a ~230 ms one-shot STATUS in the bundled build, whose target is 2x a bare
 * `node -e 0` (~160 ms). Measured on the 2-core test machine under load: bundled, zod plus the
 * spec.ts schemas evaluate in ~40 ms, this module plus the same schemas in ~2 ms (its own code
 * ~0.4 ms); unbundled, a one-shot STATUS loads 81 modules instead of 170 and takes ~200 ms
 * instead of ~300 ms. zod stays a dev dependency, for the parity test only.
 */
export * as z from './z.ts';

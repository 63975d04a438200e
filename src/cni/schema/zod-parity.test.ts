/**
 * Differential test: the real schema modules (src/cni/spec.ts, src/meta/conf/conf.ts, the built-in
 * delegates' configs) are loaded twice, once as shipped (this folder's validator) and once with
 * `./index.ts` mocked to real zod, and every schema and parse function of both copies is run on a
 * generated corpus of valid and invalid inputs: success, data, issues (codes, paths, messages, key
 * order) and the CniError texts built from them must be equal.
 */
import {isDeepStrictEqual} from 'node:util';
import {beforeAll, describe, expect, test, vi} from 'vitest';
import * as zod from 'zod';
import {corpus} from './testing/corpus.ts';
import {SAMPLES} from './testing/samples.ts';
import {SYNTHETIC_SAMPLES, syntheticSchema} from './testing/synthetic.ts';

type Parser = {safeParse(value: unknown): {success: boolean; data?: unknown; error?: {issues: unknown[]}}};

/** Everything the parity test runs, loaded from the real modules. */
async function load() {
	const spec = await import('../spec.ts');
	const conf = await import('../../meta/conf/conf.ts');
	const common = await import('../../../delegates/common/config.ts');
	const vlan = await import('../../../delegates/vlan/config.ts');
	const vrf = await import('../../../delegates/vrf/config.ts');
	const route = await import('../../../delegates/route-override/config.ts');
	const {z} = await import('./index.ts');
	const schemas: Record<string, Parser> = {
		PlexusConfSchema: conf.PlexusConfSchema,
		PluginConfSchema: spec.PluginConfSchema,
		ConfListSchema: spec.ConfListSchema,
		Result100Schema: spec.Result100Schema,
		Result040Schema: spec.Result040Schema,
		Result020Schema: spec.Result020Schema,
		ErrorSchema: spec.ErrorSchema,
		VersionReplySchema: spec.VersionReplySchema,
		GcAttachmentSchema: spec.GcAttachmentSchema,
		DnsSchema: spec.DnsSchema,
		vlanConfigSchema: vlan.vlanConfigSchema,
		vrfConfigSchema: vrf.vrfConfigSchema,
		routeOverrideConfigSchema: route.routeOverrideConfigSchema,
		synthetic: syntheticSchema(z),
	};
	const parsers: Record<string, (raw: Record<string, unknown>) => unknown> = {
		PlexusConfSchema: conf.parsePlexusConf,
		vlanConfigSchema: vlan.parseVlanConfig,
		vrfConfigSchema: vrf.parseVrfConfig,
		routeOverrideConfigSchema: route.parseRouteOverrideConfig,
	};
	return {schemas, parsers, describeIssues: spec.describeIssues, prettifyError: z.prettifyError, common};
}

type Loaded = Awaited<ReturnType<typeof load>>;

/** The real schemas' samples, and the synthetic schema's. */
const ALL_SAMPLES: Record<string, readonly unknown[]> = {...SAMPLES, synthetic: SYNTHETIC_SAMPLES};

let ours: Loaded;
let theirs: Loaded;

beforeAll(async () => {
	ours = await load();
	vi.resetModules();
	vi.doMock('./index.ts', () => ({z: zod.z}));
	try {
		theirs = await load();
	} finally {
		vi.doUnmock('./index.ts');
		vi.resetModules();
	}
});

/** What a parse did, in a form two runs can be compared by (errors by their CNI fields). */
function outcome(run: () => unknown): unknown {
	try {
		return {returned: run()};
	} catch (error) {
		const e = error as {name?: string; message?: string; code?: unknown; details?: unknown};
		return {threw: e.name, message: e.message, code: e.code, details: e.details};
	}
}

/** The inputs of the corpus where the two results differ (the first few, with the count). */
function differences(
	inputs: readonly unknown[],
	ourRun: (input: unknown) => unknown,
	zodRun: (input: unknown) => unknown,
) {
	const found: {input: unknown; ours: unknown; zod: unknown}[] = [];
	let count = 0;
	for (const input of inputs) {
		const a = ourRun(input);
		const b = zodRun(input);
		if (isDeepStrictEqual(a, b) && JSON.stringify(a) === JSON.stringify(b)) continue;
		count++;
		if (found.length < 3) found.push({input, ours: a, zod: b});
	}
	return {count, found};
}

describe('the in-repo validator equals zod v4 on the real schemas', () => {
	test('the zod copy really is zod, and ours is not', () => {
		expect(theirs.schemas['PlexusConfSchema']).toBeInstanceOf(zod.ZodType);
		expect(ours.schemas['PlexusConfSchema']).not.toBeInstanceOf(zod.ZodType);
		expect(theirs.schemas['synthetic']).toBeInstanceOf(zod.ZodType);
		expect(Object.keys(ours.schemas)).toEqual(Object.keys(ALL_SAMPLES));
	});

	test('the corpus makes the schemas raise every kind of issue they can', () => {
		const kinds = new Set<string>();
		const collect = (issues: readonly Record<string, unknown>[]) => {
			for (const issue of issues) {
				kinds.add(
					issue['code'] === 'invalid_type' ? `invalid_type/${issue['expected']}` : String(issue['code']),
				);
				if (Array.isArray(issue['errors'])) for (const inner of issue['errors']) collect(inner);
			}
		};
		for (const [name, samples] of Object.entries(ALL_SAMPLES)) {
			const schema = theirs.schemas[name] as Parser;
			for (const input of samples.flatMap((sample) => corpus(sample))) {
				const result = outcome(() => schema.safeParse(input)) as {returned?: ReturnType<Parser['safeParse']>};
				collect((result.returned?.error?.issues ?? []) as Record<string, unknown>[]);
			}
		}
		expect([...kinds].sort()).toEqual([
			'custom',
			'invalid_type/array',
			'invalid_type/boolean',
			'invalid_type/int',
			'invalid_type/nonoptional',
			'invalid_type/number',
			'invalid_type/object',
			'invalid_type/record',
			'invalid_type/string',
			'invalid_union',
			'invalid_value',
			'too_big',
			'too_small',
			'unrecognized_keys',
		]);
	});

	for (const name of Object.keys(ALL_SAMPLES)) {
		test(`${name}: success, data and issues on the generated corpus`, () => {
			const inputs = ALL_SAMPLES[name]?.flatMap((sample) => corpus(sample)) ?? [];
			const ourSchema = ours.schemas[name] as Parser;
			const zodSchema = theirs.schemas[name] as Parser;
			const run = (schema: Parser, loaded: Loaded) => (input: unknown) => {
				const r = schema.safeParse(input);
				if (r.success) return {success: true, data: r.data};
				const error = r.error as {issues: unknown[]};
				return {
					success: false,
					issues: error.issues,
					described: loaded.describeIssues(error as never),
					pretty: loaded.prettifyError(error as never),
				};
			};
			// A schema's own code may throw (String() of a prototype-less object in vlan's transform): equally.
			const diff = differences(
				inputs,
				(input) => outcome(() => run(ourSchema, ours)(input)),
				(input) => outcome(() => run(zodSchema, theirs)(input)),
			);
			expect(diff).toEqual({count: 0, found: []});
			// The corpus holds both kinds, so neither side can pass by always failing or always passing.
			const results = inputs.map((input) => outcome(() => ourSchema.safeParse(input).success));
			expect(results.filter((r) => isDeepStrictEqual(r, {returned: true})).length).toBeGreaterThan(0);
			expect(results.filter((r) => isDeepStrictEqual(r, {returned: false})).length).toBeGreaterThan(
				inputs.length / 4,
			);
		});
	}

	for (const name of [
		'PlexusConfSchema',
		'vlanConfigSchema',
		'vrfConfigSchema',
		'routeOverrideConfigSchema',
	]) {
		test(`${name}: the parse function returns or throws the same (CniError message and details)`, () => {
			const inputs = (SAMPLES[name]?.flatMap((sample) => corpus(sample, 200)) ?? []).filter(
				(input) => typeof input === 'object' && input !== null && !Array.isArray(input),
			);
			const ourParse = ours.parsers[name] as (raw: unknown) => unknown;
			const zodParse = theirs.parsers[name] as (raw: unknown) => unknown;
			const diff = differences(
				inputs,
				(input) => outcome(() => ourParse(input)),
				(input) => outcome(() => zodParse(input)),
			);
			expect(diff).toEqual({count: 0, found: []});
		});
	}

	test('parseConfig reports every issue and zod’s pretty form for a delegate config', () => {
		const schema = ours.schemas['vrfConfigSchema'];
		const zodSchema = theirs.schemas['vrfConfigSchema'];
		const raw = {cniVersion: 1, vrfname: '', table: -1.5, prevResult: []};
		const a = outcome(() => ours.common.parseConfig('vrf', schema as never, raw));
		const b = outcome(() => theirs.common.parseConfig('vrf', zodSchema as never, raw));
		expect(a).toEqual(b);
		expect(a).toMatchObject({code: 7, details: expect.stringContaining('✖ ')});
	});
});

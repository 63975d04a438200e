/**
 * A schema built from the API surface the real schemas use only partly (a one-value enum, unions of
 * checked options, transforms raising string and fatal issues, defaults inside defaults, strip
 * objects, length bounds on arrays), for the parity test to run through both validators.
 */
import type {z as ours} from '../index.ts';

/** The synthetic schema, built with `z` (this folder's or zod's: they share the API). */
export function syntheticSchema(z: typeof ours) {
	return z.object({
		e: z.enum(['only']),
		u: z.union([z.string().min(2), z.number().int().max(10), z.enum(['a', 'b'])]),
		a: z.array(z.string().min(1, {message: 'empty item'})).optional(),
		d: z.looseObject({x: z.number().default(3), y: z.array(z.boolean()).default([])}).default({x: 1, y: []}),
		r: z.record(z.string(), z.number().min(-5).max(5)),
		t: z
			.string({error: (issue) => `not a string: ${typeof issue.input}`})
			.transform((s, ctx) => {
				if (s === 'bad') {
					ctx.addIssue('plain text issue');
					return z.NEVER;
				}
				if (s === 'fatal') {
					ctx.addIssue({message: 'fatal issue', fatal: true});
					return z.NEVER;
				}
				return s.length;
			})
			.optional(),
		k: z.unknown(),
		s: z.strictObject({n: z.number().positive().optional()}).optional(),
		x: z
			.looseObject({a: z.string()}, {error: 'x must be an object'})
			.extend({b: z.number().refine((n) => n % 2 === 0, 'b must be even')})
			.optional(),
	});
}

/** Valid samples of the synthetic schema. */
export const SYNTHETIC_SAMPLES: readonly unknown[] = [
	{
		e: 'only',
		u: 'ab',
		a: ['x', 'y'],
		d: {x: 2, y: [true]},
		r: {a: 1, b: -5},
		t: 'bad?',
		k: 1,
		s: {n: 1},
		x: {a: 'q', b: 2},
	},
	{e: 'only', u: 7, r: {}, k: null},
];

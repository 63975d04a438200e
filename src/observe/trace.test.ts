import {describe, expect, it} from 'vitest';
import {inAttachment, inOperation, tracedApiCall} from './context.ts';
import {MAX_EVENTS_PER_OPERATION, TraceStore} from './trace.ts';

const start = (name: string, verb = 'ADD') => ({
	verb,
	containerId: `c-${name}`,
	ifname: 'eth0',
	pod: {namespace: 'ns1', name},
});

describe('TraceStore', () => {
	it('keeps the last N operations, oldest first, per pod', () => {
		const store = new TraceStore(3);
		for (const name of ['a', 'b', 'a', 'c', 'a']) store.start(start(name))?.finish();
		// Five started, three kept: a (3rd), c, a (5th).
		expect(store.forPod('ns1', 'a').map((op) => op.id)).toEqual([3, 5]);
		expect(store.forPod('ns1', 'b')).toEqual([]);
		expect(store.forPod('ns1', 'c').map((op) => op.id)).toEqual([4]);
		expect(store.forPod('ns2', 'a')).toEqual([]);
	});

	it('keeps nothing with capacity 0 and refuses a negative one', () => {
		expect(new TraceStore(0).start(start('a'))).toBeUndefined();
		expect(() => new TraceStore(-1)).toThrow('expected the trace capacity to be an integer ≥ 0, got -1');
	});

	it('bounds the steps of one operation', () => {
		const op = new TraceStore(1).start(start('a'));
		for (let i = 0; i < MAX_EVENTS_PER_OPERATION + 10; i++)
			op?.add({kind: 'api', call: 'x', startMs: i, durationMs: 0});
		expect(op?.record.events).toHaveLength(MAX_EVENTS_PER_OPERATION);
	});
});

describe('operation and attachment scopes', () => {
	it('record attachments and API calls into the operation they run in, failures with code and message', async () => {
		const store = new TraceStore(10);
		const op = store.start(start('web'));
		if (op === undefined) throw new Error('no operation');
		const info = {
			verb: 'ADD',
			containerId: 'c-web',
			pod: {namespace: 'ns1', name: 'web'},
			nad: {namespace: 'ns1', name: 'net'},
			network: 'ns1/net',
			ifname: 'net1',
		};
		await inOperation(op, async () => {
			await tracedApiCall('get pod "ns1/web"', async () => ({}));
			await inAttachment(info, async () => undefined);
			const failure = Object.assign(new Error('boom'), {code: 7});
			await expect(
				inAttachment({...info, ifname: 'net2'}, async () => {
					throw failure;
				}),
			).rejects.toBe(failure);
		});
		op.finish({code: 7, message: 'boom'});
		const [record] = store.forPod('ns1', 'web');
		expect(record).toMatchObject({verb: 'ADD', code: 7, error: 'boom', durationMs: expect.any(Number)});
		expect(record?.events).toEqual([
			{kind: 'api', call: 'get pod "ns1/web"', startMs: expect.any(Number), durationMs: expect.any(Number)},
			expect.objectContaining({kind: 'attachment', nad: 'ns1/net', ifname: 'net1', verb: 'ADD'}),
			expect.objectContaining({kind: 'attachment', ifname: 'net2', error: 'boom'}),
		]);
		expect(record?.events[1]).not.toHaveProperty('code');
	});

	it('record nothing outside an operation', async () => {
		expect(await tracedApiCall('x', async () => 5)).toBe(5);
	});
});

/**
 * An in-memory `DraPort`: pods' DRA status, claims and slices in maps, slices filtered by node and
 * driver as the API server's field selectors do, every call recorded, failures programmable.
 */
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import type {Claim, DraPod, DraPort, Slice} from '../dra.ts';

/** A slice as stored: with the node it is published for (undefined: all nodes). */
export type FakeSlice = Slice & {nodeName: string | undefined};

export class FakeDraPort implements DraPort {
	readonly pods = new Map<string, DraPod>();
	readonly claims = new Map<string, Claim>();
	readonly slices: FakeSlice[] = [];
	readonly calls: {method: keyof DraPort; args: unknown[]}[] = [];
	/** When set, listSlices fails with this message (an API error). */
	listFailure: string | undefined;

	async getPod(namespace: string, name: string): Promise<DraPod | undefined> {
		this.calls.push({method: 'getPod', args: [namespace, name]});
		return this.pods.get(`${namespace}/${name}`);
	}

	async getClaim(namespace: string, name: string): Promise<Claim | undefined> {
		this.calls.push({method: 'getClaim', args: [namespace, name]});
		return this.claims.get(`${namespace}/${name}`);
	}

	async listSlices(nodeName: string | undefined, driver: string): Promise<Slice[]> {
		this.calls.push({method: 'listSlices', args: [nodeName, driver]});
		if (this.listFailure !== undefined) throw new CniError(CniErrorCode.ioFailure, this.listFailure);
		return this.slices
			.filter((s) => s.driver === driver && (nodeName === undefined || s.nodeName === nodeName))
			.map(({nodeName: _, ...slice}) => slice);
	}
}

/**
 * The fuzz run's delegates: a recording PluginExec whose "binaries" attach a dummy interface in
 * the case's netlink model (so `default-route` and DEL meet what a real plugin leaves), fail with
 * codes of their own, or answer a malformed result. No process and no kernel is touched.
 *
 * The codes they fail with are recorded: the property allows a code ≥ 100 only when a delegate
 * returned it. Their own failures are always proper CNI errors (never 999), so a 999 in an answer
 * is Plexus' own. A stdin that is not JSON is a Plexus bug and fails the case.
 */
import {basename, join} from 'node:path';
import {
	type ExecRequest,
	type PluginExec,
	pluginNotFound,
	validatePluginType,
} from '../../../chain/plugin-exec.ts';
import {CniError, isCniError} from '../../../cni/errors.ts';
import type {NetlinkModel} from '../../../netlink/model.ts';
import {BAD_TYPES, FAKE_BIN, GOOD_TYPES} from './inputs.ts';
import type {Rng} from './rng.ts';
import {nestedText} from './values.ts';

const INSTALLED: ReadonlySet<string> = new Set([...GOOD_TYPES, ...BAD_TYPES]);

/** A delegate's answer for the result of an ADD in config version `version`. */
function resultFor(version: string, ifname: string, netns: string, n: number): Record<string, unknown> {
	const address = `10.${n % 250}.1.2/24`;
	const gateway = `10.${n % 250}.1.1`;
	if (version.startsWith('0.1.') || version.startsWith('0.2.'))
		return {cniVersion: version, ip4: {ip: address, gateway}};
	return {
		cniVersion: version,
		interfaces: [{name: ifname, sandbox: netns}],
		ips: [{...(version.startsWith('0.3.') ? {version: '4'} : {}), address, gateway, interface: 0}],
	};
}

export class FuzzPluginExec implements PluginExec {
	/** Codes the delegates failed with in this case. */
	readonly codes = new Set<number>();
	readonly calls: {type: string; command: string}[] = [];
	readonly #model: NetlinkModel;
	readonly #rng: Rng;

	constructor(model: NetlinkModel, rng: Rng) {
		this.#model = model;
		this.#rng = rng;
	}

	async find(type: string, path: readonly string[]): Promise<string> {
		validatePluginType(type);
		if (INSTALLED.has(type) && path.includes(FAKE_BIN)) return join(FAKE_BIN, type);
		throw pluginNotFound(type, path);
	}

	#fail(code: number, msg: string): never {
		this.codes.add(code);
		throw new CniError(code, msg);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		const type = basename(request.pluginPath);
		const command = request.env['CNI_COMMAND'] ?? '';
		this.calls.push({type, command});
		const text = Buffer.from(request.stdin).toString('utf8');
		let conf: Record<string, unknown>;
		try {
			conf = JSON.parse(text) as Record<string, unknown>;
		} catch (error) {
			throw new Error(`plexus sent delegate "${type}" a stdin that is not JSON: ${String(error)}`);
		}
		if (type === 'failing' && command === 'ADD') this.#fail(this.#rng.pick([100, 117, 7, 11]), 'no room');
		if (type === 'failing-del' && command === 'DEL') this.#fail(120, 'cannot release');
		if (type === 'oddresult' && command === 'ADD') return Buffer.from(this.#oddResult());
		if (command !== 'ADD') {
			if (command === 'DEL') this.#detach(request.env['CNI_NETNS'] ?? '', request.env['CNI_IFNAME'] ?? '');
			return new Uint8Array();
		}
		// A later plugin of a chain (tuning-like): amends nothing, passes prevResult on.
		if (typeof conf['prevResult'] === 'object' && conf['prevResult'] !== null)
			return Buffer.from(JSON.stringify(conf['prevResult']));
		const netns = request.env['CNI_NETNS'] ?? '';
		const ifname = request.env['CNI_IFNAME'] ?? '';
		try {
			const nl = this.#model.open(netns);
			try {
				if (nl.findLink(ifname) !== undefined) this.#fail(101, `interface "${ifname}" exists`);
				nl.addLink({kind: 'dummy', name: ifname, up: true});
				nl.addAddress(ifname, `10.${this.calls.length % 250}.1.2/24`);
			} finally {
				nl.close();
			}
		} catch (error) {
			// A real plugin reports what the kernel said with an error of its own.
			if (isCniError(error) && error.code >= 100) throw error;
			this.#fail(102, `failed to set up "${ifname}": ${String(error)}`);
		}
		return Buffer.from(
			JSON.stringify(resultFor(String(conf['cniVersion']), ifname, netns, this.calls.length)),
		);
	}

	/** DEL: the interface goes when it is there; a missing netns or link is success. */
	#detach(netns: string, ifname: string): void {
		if (netns === '') return;
		try {
			const nl = this.#model.open(netns);
			try {
				if (nl.findLink(ifname) !== undefined) nl.deleteLink(ifname);
			} finally {
				nl.close();
			}
		} catch {
			// Gone netns: nothing to delete there.
		}
	}

	#oddResult(): string {
		return this.#rng.pick([
			'',
			'not json',
			'[]',
			'{}',
			'null',
			nestedText(3000, 'array'),
			`{"cniVersion":"1.0.0","ips":${nestedText(100, 'array')}}`,
			'{"cniVersion":"1.0.0","ips":"x"}',
			'{"cniVersion":"9.9.9"}',
			'{"cniVersion":"1.0.0","interfaces":[{"name":5}]}',
			'{"cniVersion":"1.0.0","ips":[{"address":"300.1.1.1/99"}]}',
		]);
	}
}

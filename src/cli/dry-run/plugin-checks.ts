/**
 * What one delegate of a planned chain would fail its ADD on, in the order the delegate finds it:
 * the spec version it is sent (skel's check, before anything else), then its own config check (a
 * built-in's parser, ./builtin-check.ts), then the node's state it needs (./master-check.ts, with
 * --check-host), then what the `static` IPAM plugin it calls refuses (./static-ipam.ts: a main
 * plugin gets its addresses after it made its link). Errors are worded as the executor reports a
 * delegate's failure.
 */
import type {PluginEntry} from '../../chain/network-list.ts';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import {checkBuiltinConfig} from './builtin-check.ts';
import {missingMaster} from './master-check.ts';
import {staticIpamFailure} from './static-ipam.ts';

/** How the executor names a delegate in its errors. */
function described(plugin: PluginEntry): string {
	return `type="${plugin.type}"${plugin.name ? ` name="${plugin.name}"` : ''}`;
}

/** A delegate's ADD error as the executor reports it: `plugin type="x" failed (add): ...`. */
function wrapAdd(plugin: PluginEntry, cause: CniError): CniError {
	return new CniError(cause.code, `plugin ${described(plugin)} failed (add): ${cause.message}`, {
		details: cause.details,
		cause,
	});
}

export interface DelegateCheck {
	plugin: PluginEntry;
	/** The exact stdin (its prevResult a placeholder). */
	stdin: string;
	runsAs: 'builtin' | 'binary' | 'missing';
	/** What the delegate supports (null: unknown). */
	supportedVersions: readonly string[] | null;
	cniVersion: string;
	ifname: string;
	/** The node's link names (--check-host), else undefined. */
	hostLinks: ReadonlySet<string> | undefined;
}

/** The delegate's ADD errors (the first is the one ADD fails with) and warnings. */
export function checkDelegate(c: DelegateCheck): {errors: CniError[]; warnings: string[]} {
	const errors: CniError[] = [];
	const warnings: string[] = [];
	if (c.supportedVersions !== null && !c.supportedVersions.includes(c.cniVersion)) {
		// What the delegate answers ADD with (skel's check), as the executor wraps it.
		const details = `config is "${c.cniVersion}", plugin supports [${c.supportedVersions.join(' ')}]`;
		errors.push(
			wrapAdd(
				c.plugin,
				new CniError(CniErrorCode.incompatibleVersion, 'incompatible CNI versions', {details}),
			),
		);
	}
	if (c.runsAs === 'builtin') {
		const checked = checkBuiltinConfig(c.plugin.type, c.stdin, described(c.plugin), c.ifname);
		if (checked.error !== undefined) errors.push(checked.error);
		for (const hint of checked.hints) warnings.push(`plugin ${described(c.plugin)}: ${hint}`);
	}
	if (c.hostLinks !== undefined && c.runsAs !== 'missing') {
		const missing = missingMaster(c.plugin.type, c.stdin, c.hostLinks);
		if (missing !== undefined) errors.push(wrapAdd(c.plugin, missing));
	}
	if (c.runsAs === 'binary') {
		const ipam = staticIpamFailure(c.plugin.type, JSON.parse(c.stdin) as Record<string, unknown>);
		if (ipam !== undefined) errors.push(wrapAdd(c.plugin, ipam));
	}
	return {errors, warnings};
}

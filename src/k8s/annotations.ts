/**
 * The pod's network selection annotations (`k8s.v1.cni.cncf.io/networks`, and Multus'
 * `v1.multus-cni.io/default-network`): both formats of the NPWG multi-net spec v1.3 §4.1, every
 * element field validated. A bad annotation is a code-7 error naming the pod, the element and the
 * field (the spec lets implementations ignore invalid annotations; failing loudly is kinder).
 * @see https://github.com/k8snetworkplumbingwg/multi-net-spec/tree/bf32935dd9d25204e5e02b847c9c4c4195e0018b/v1.3
 */

import {CniError, CniErrorCode} from '../cni/errors.ts';
import {isIP} from '../cni/is-ip.ts';
import {findNonFiniteNumber, isJsonObject, MAX_JSON_DEPTH, nestsDeeperThan, outOfRange} from '../cni/json.ts';

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const DEFAULT_NETWORK_ANNOTATION = 'v1.multus-cni.io/default-network';
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
/** The device plugin resource a NAD's attachments need (one device each). */
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';

/** DNS-1123 label: what spec §3.3 requires of NAD names and namespaces. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_LABEL_MAX = 63;
/** DNS-1123 subdomain (an IPAMClaim is an ordinary object name). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Linux IFNAMSIZ - 1. */
export const IFNAME_MAX = 15;
export const PORT_MIN = 1;
export const PORT_MAX = 65535;
const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

export interface PortMapping {
	hostPort: number;
	containerPort: number;
	/** Lower case, as runtimes hand it to the portmap plugin; TCP when absent (spec §4.1.2.1.7). */
	protocol: (typeof PROTOCOLS)[number];
	hostIP?: string;
}

export interface Bandwidth {
	ingressRate?: number;
	ingressBurst?: number;
	egressRate?: number;
	egressBurst?: number;
}

/** One validated element of the networks annotation. */
export interface NetworkSelection {
	name: string;
	/** The pod's namespace when the element gives none. */
	namespace: string;
	interface?: string;
	ips?: string[];
	mac?: string;
	cniArgs?: Record<string, unknown>;
	portMappings?: PortMapping[];
	bandwidth?: Bandwidth;
	/** Gateways (possibly none) when this element asks for the default route. */
	defaultRoute?: string[];
	infinibandGuid?: string;
	ipamClaimReference?: string;
	deviceID?: string;
}

/** Where an annotation came from, for error messages. */
export interface AnnotationSource {
	podNamespace: string;
	podName: string;
	annotation: string;
}

/** The fields spec v1.3 defines, plus Multus' `deviceID` and legacy `interfaceRequest`. */
const KNOWN_KEYS = new Set([
	'name',
	'namespace',
	'interface',
	'interfaceRequest',
	'ips',
	'mac',
	'cni-args',
	'portMappings',
	'bandwidth',
	'default-route',
	'infiniband-guid',
	'ipam-claim-reference',
	'deviceID',
]);

/** Validates a Linux interface name; returns why it is invalid, or undefined. */
export function ifnameProblem(name: string): string | undefined {
	if (name === '') return 'is empty';
	if (Buffer.byteLength(name) > IFNAME_MAX) return `is longer than ${IFNAME_MAX} characters`;
	if (name === '.' || name === '..') return 'is "." or ".."';
	if (/[/:\s]/.test(name)) return 'contains "/", ":" or whitespace';
	return undefined;
}

function dnsLabelProblem(value: string): string | undefined {
	if (value.length > DNS1123_LABEL_MAX) return `is longer than ${DNS1123_LABEL_MAX} characters`;
	if (!DNS1123_LABEL.test(value)) return 'is not a DNS-1123 label (lower case alphanumerics and "-")';
	return undefined;
}

/** True for "a.b.c.d", "a.b.c.d/n", an IPv6 address, or one with a prefix length. */
export function isIpOrCidr(value: string): boolean {
	const slash = value.indexOf('/');
	const address = slash === -1 ? value : value.slice(0, slash);
	const family = isIP(address);
	if (family === 0) return false;
	if (slash === -1) return true;
	const prefix = value.slice(slash + 1);
	return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;
const GUID = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){7}$/;

class ElementError extends Error {}

function fail(field: string, why: string): never {
	throw new ElementError(`"${field}" ${why}`);
}

function nonZeroInt(value: unknown, field: string): number {
	if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
		fail(field, `must be a positive integer, got ${JSON.stringify(value)}`);
	}
	return value;
}

function parsePort(value: unknown, field: string): number {
	if (typeof value !== 'number' || !Number.isInteger(value) || value < PORT_MIN || value > PORT_MAX) {
		fail(field, `must be an integer from ${PORT_MIN} to ${PORT_MAX}, got ${JSON.stringify(value)}`);
	}
	return value;
}

function parsePortMappings(value: unknown): PortMapping[] {
	if (!Array.isArray(value) || value.length === 0) fail('portMappings', 'must be a non-empty list');
	return value.map((raw, i) => {
		const field = `portMappings[${i}]`;
		if (!isJsonObject(raw)) fail(field, 'must be an object');
		const protocol = raw['protocol'] ?? 'tcp';
		if (typeof protocol !== 'string' || !(PROTOCOLS as readonly string[]).includes(protocol.toLowerCase())) {
			fail(`${field}.protocol`, `must be TCP, UDP or SCTP, got ${JSON.stringify(protocol)}`);
		}
		const mapping: PortMapping = {
			hostPort: parsePort(raw['hostPort'], `${field}.hostPort`),
			containerPort: parsePort(raw['containerPort'], `${field}.containerPort`),
			protocol: protocol.toLowerCase() as PortMapping['protocol'],
		};
		const hostIP = raw['hostIP'];
		if (hostIP !== undefined && hostIP !== '') {
			if (typeof hostIP !== 'string' || isIP(hostIP) === 0)
				fail(`${field}.hostIP`, `is not an IP address: ${JSON.stringify(hostIP)}`);
			mapping.hostIP = hostIP;
		}
		return mapping;
	});
}

function parseBandwidth(value: unknown): Bandwidth {
	if (!isJsonObject(value)) fail('bandwidth', 'must be an object');
	const out: Bandwidth = {};
	for (const key of ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const) {
		if (value[key] !== undefined) out[key] = nonZeroInt(value[key], `bandwidth.${key}`);
	}
	const unknown = Object.keys(value).filter(
		(k) => !['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'].includes(k),
	);
	if (unknown.length > 0) fail(`bandwidth.${unknown[0]}`, 'is not a bandwidth key');
	if (out.ingressBurst !== undefined && out.ingressRate === undefined)
		fail('bandwidth.ingressBurst', 'needs "ingressRate"');
	if (out.egressBurst !== undefined && out.egressRate === undefined)
		fail('bandwidth.egressBurst', 'needs "egressRate"');
	if (Object.keys(out).length === 0) fail('bandwidth', 'sets no rate');
	return out;
}

function parseStringList(
	value: unknown,
	field: string,
	check: (s: string) => boolean,
	what: string,
	allowEmpty: boolean,
): string[] {
	if (!Array.isArray(value)) fail(field, 'must be a list of strings');
	if (!allowEmpty && value.length === 0) fail(field, 'must not be empty');
	return value.map((item, i) => {
		if (typeof item !== 'string' || !check(item))
			fail(`${field}[${i}]`, `is not ${what}: ${JSON.stringify(item)}`);
		return item;
	});
}

/** Validates one JSON element (spec §4.1.2.1). */
function parseElement(raw: unknown, podNamespace: string): NetworkSelection {
	if (!isJsonObject(raw)) fail('element', 'must be a JSON object');
	for (const key of Object.keys(raw)) {
		// Spec §4.1.2.1: keys without a "." are reserved for the spec; extensions are reverse-DNS.
		if (!KNOWN_KEYS.has(key) && !key.includes('.'))
			fail(key, 'is not a field of the network selection element (extensions must be reverse-DNS keys)');
	}
	const name = raw['name'];
	if (typeof name !== 'string' || name === '') fail('name', 'is required');
	const nameProblem = dnsLabelProblem(name);
	if (nameProblem !== undefined) fail('name', `${JSON.stringify(name)} ${nameProblem}`);
	let namespace = podNamespace;
	if (raw['namespace'] !== undefined && raw['namespace'] !== '') {
		if (typeof raw['namespace'] !== 'string') fail('namespace', 'must be a string');
		const problem = dnsLabelProblem(raw['namespace']);
		if (problem !== undefined) fail('namespace', `${JSON.stringify(raw['namespace'])} ${problem}`);
		namespace = raw['namespace'];
	}
	const out: NetworkSelection = {name, namespace};
	if (raw['interface'] !== undefined && raw['interfaceRequest'] !== undefined) {
		fail('interfaceRequest', 'is the legacy spelling of "interface"; set only one');
	}
	const ifname = raw['interface'] ?? raw['interfaceRequest'];
	if (ifname !== undefined && ifname !== '') {
		const field = raw['interface'] === undefined ? 'interfaceRequest' : 'interface';
		if (typeof ifname !== 'string') fail(field, 'must be a string');
		const problem = ifnameProblem(ifname);
		if (problem !== undefined) fail(field, `${JSON.stringify(ifname)} ${problem}`);
		out.interface = ifname;
	}
	if (raw['ips'] !== undefined)
		out.ips = parseStringList(raw['ips'], 'ips', isIpOrCidr, 'an IP address or CIDR', false);
	if (raw['mac'] !== undefined) {
		if (typeof raw['mac'] !== 'string' || !MAC.test(raw['mac']))
			fail('mac', `is not a 6-byte MAC address: ${JSON.stringify(raw['mac'])}`);
		out.mac = raw['mac'];
	}
	if (raw['cni-args'] !== undefined) {
		if (!isJsonObject(raw['cni-args'])) fail('cni-args', 'must be an object');
		out.cniArgs = raw['cni-args'];
	}
	if (raw['portMappings'] !== undefined) out.portMappings = parsePortMappings(raw['portMappings']);
	if (raw['bandwidth'] !== undefined) out.bandwidth = parseBandwidth(raw['bandwidth']);
	if (raw['default-route'] !== undefined) {
		out.defaultRoute = parseStringList(
			raw['default-route'],
			'default-route',
			(s) => isIP(s) !== 0,
			'an IP address',
			true,
		);
	}
	if (raw['infiniband-guid'] !== undefined) {
		const guid = raw['infiniband-guid'];
		if (typeof guid !== 'string' || !GUID.test(guid))
			fail('infiniband-guid', `is not an 8-byte GUID: ${JSON.stringify(guid)}`);
		out.infinibandGuid = guid;
	}
	if (raw['ipam-claim-reference'] !== undefined) {
		const claim = raw['ipam-claim-reference'];
		if (typeof claim !== 'string' || !DNS1123_SUBDOMAIN.test(claim)) {
			fail('ipam-claim-reference', `is not an IPAMClaim name: ${JSON.stringify(claim)}`);
		}
		// Spec v1.3 §4.1.2.1.11: an element may not both request IPs and reference a claim.
		if (out.ips !== undefined) fail('ipam-claim-reference', 'cannot be combined with "ips"');
		out.ipamClaimReference = claim;
	}
	if (raw['deviceID'] !== undefined) {
		if (typeof raw['deviceID'] !== 'string' || raw['deviceID'] === '')
			fail('deviceID', 'must be a non-empty string');
		out.deviceID = raw['deviceID'];
	}
	return out;
}

/** Parses one shorthand item `[<namespace>/]<name>[@<interface>]` (spec §4.1.1 plus Multus' `@`). */
function parseShorthand(item: string, podNamespace: string): NetworkSelection {
	let rest = item;
	let ifname: string | undefined;
	const at = rest.lastIndexOf('@');
	if (at !== -1) {
		ifname = rest.slice(at + 1);
		rest = rest.slice(0, at);
		const problem = ifnameProblem(ifname);
		if (problem !== undefined) fail('interface', `${JSON.stringify(ifname)} ${problem}`);
	}
	const parts = rest.split('/');
	if (parts.length > 2) fail('name', `${JSON.stringify(rest)} has more than one "/"`);
	const [namespace, name] =
		parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [podNamespace, parts[0] ?? ''];
	if (name === '') fail('name', 'is required');
	const nameProblem = dnsLabelProblem(name);
	if (nameProblem !== undefined) fail('name', `${JSON.stringify(name)} ${nameProblem}`);
	const nsProblem = dnsLabelProblem(namespace);
	if (nsProblem !== undefined) fail('namespace', `${JSON.stringify(namespace)} ${nsProblem}`);
	const out: NetworkSelection = {name, namespace};
	if (ifname !== undefined) out.interface = ifname;
	return out;
}

function annotationError(source: AnnotationSource, element: string, why: string): CniError {
	return new CniError(
		CniErrorCode.invalidConfig,
		`invalid annotation "${source.annotation}" on pod "${source.podNamespace}/${source.podName}": ${element}: ${why}`,
	);
}

/**
 * Parses a network selection annotation. JSON when the value contains `[`, `{` or `"` (as Multus
 * decides), else a comma-separated shorthand list. An empty value selects nothing.
 *
 * @throws CniError code 7 naming the pod, the element (1-based, with its name when known) and the field.
 * @example
 * parseNetworkSelections('ns2/macvlan-conf@eth1, sriov', source) // → 2 elements
 * `defaultNamespace` is where un-namespaced elements point (the pod's namespace, or
 * `multusNamespace` for the default-network annotation).
 */
export function parseNetworkSelections(
	value: string,
	source: AnnotationSource,
	defaultNamespace: string = source.podNamespace,
): NetworkSelection[] {
	const text = value.trim();
	if (text === '') return [];
	if (/[[{"]/.test(text)) {
		if (nestsDeeperThan(text, MAX_JSON_DEPTH))
			throw annotationError(source, 'value', `nests deeper than the JSON limit of ${MAX_JSON_DEPTH} levels`);
		let decoded: unknown;
		try {
			decoded = JSON.parse(text);
		} catch (error) {
			throw annotationError(source, 'value', `is not valid JSON: ${(error as Error).message}`);
		}
		if (!Array.isArray(decoded))
			throw annotationError(source, 'value', 'must be a JSON list of network selection elements');
		const at = findNonFiniteNumber(decoded);
		if (at !== undefined) throw annotationError(source, 'value', outOfRange(at));
		const out = decoded.map((raw, i) => {
			const label = `element ${i + 1}${isJsonObject(raw) && typeof raw['name'] === 'string' ? ` ("${raw['name']}")` : ''}`;
			try {
				return parseElement(raw, defaultNamespace);
			} catch (error) {
				if (error instanceof ElementError) throw annotationError(source, label, error.message);
				throw error;
			}
		});
		checkSingleDefaultRoute(out, source);
		return out;
	}
	return text.split(',').map((item, i) => {
		const trimmed = item.trim();
		try {
			if (trimmed === '') fail('name', 'is required (empty list item)');
			return parseShorthand(trimmed, defaultNamespace);
		} catch (error) {
			if (error instanceof ElementError)
				throw annotationError(source, `element ${i + 1} ("${trimmed}")`, error.message);
			throw error;
		}
	});
}

/** Spec §4.1.2.1.9: only one element of the annotation may carry `default-route`. */
function checkSingleDefaultRoute(elements: readonly NetworkSelection[], source: AnnotationSource): void {
	const carriers = elements.flatMap((e, i) => (e.defaultRoute === undefined ? [] : [i + 1]));
	if (carriers.length > 1) {
		throw annotationError(
			source,
			`elements ${carriers.join(' and ')}`,
			'"default-route" may be set on one element only (the pod has one default route)',
		);
	}
}

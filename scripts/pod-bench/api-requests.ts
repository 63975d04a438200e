/**
 * The API requests the benchmark counts: each request of the test API server's log named by verb
 * and resource as kube-apiserver's audit log would (`GET pods`, `LIST network-attachment-definitions`,
 * `WATCH pods`, `PUT pods/status`, `POST events`), and counted per operation.
 */
import type {RequestRecord} from '../../e2e/kube/apiserver.ts';

/** Where a request went: its namespace (undefined when cluster-wide), resource and verb label. */
export interface RequestTarget {
	namespace: string | undefined;
	label: string;
}

/** Names `record` by verb and resource (with subresource). */
export function requestTarget(record: Pick<RequestRecord, 'method' | 'path' | 'query'>): RequestTarget {
	const parts = record.path.split('/').filter((p) => p !== '');
	// /api/v1/... or /apis/<group>/<version>/...
	let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
	let namespace: string | undefined;
	if (rest[0] === 'namespaces' && rest.length > 2) {
		namespace = rest[1];
		rest = rest.slice(2);
	}
	const [plural = '?', name, sub] = rest;
	const resource = sub === undefined ? plural : `${plural}/${sub}`;
	const watch = record.query['watch'] === '1' || record.query['watch'] === 'true';
	let verb = record.method;
	if (watch) verb = 'WATCH';
	else if (record.method === 'GET' && name === undefined) verb = 'LIST';
	return {namespace, label: `${verb} ${resource}`};
}

/** Counts of `records` by label, e.g. {"GET pods": 2, "POST events": 4}. */
export function countByLabel(
	records: readonly Pick<RequestRecord, 'method' | 'path' | 'query'>[],
): Map<string, number> {
	const counts = new Map<string, number>();
	for (const record of records) {
		const {label} = requestTarget(record);
		counts.set(label, (counts.get(label) ?? 0) + 1);
	}
	return counts;
}

/** `counts` divided by `operations`, as `GET pods 1, POST events 4` (sorted; "none" when empty). */
export function perOperation(counts: ReadonlyMap<string, number>, operations: number): string {
	if (counts.size === 0 || operations === 0) return 'none';
	return [...counts.entries()]
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([label, n]) => `${label} ${Number((n / operations).toFixed(2))}`)
		.join(', ');
}

/** The sum of `counts` whose label matches `pattern`, divided by `operations`. */
export function rate(counts: ReadonlyMap<string, number>, pattern: RegExp, operations: number): number {
	let n = 0;
	for (const [label, count] of counts) if (pattern.test(label)) n += count;
	return operations === 0 ? 0 : n / operations;
}

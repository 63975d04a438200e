/**
 * The hand-written Multus cache fixtures in e2e/testdata/multus-cache/ (see its README): a file as
 * Multus v4.x (or v3.x) writes `<cniDir>/<containerID>`, whose delegate configs (base64 `Bytes`)
 * carry @NAME@ placeholders, so each test gets its own bridges, subnets and data dir.
 */
import {readFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';

export const MULTUS_FIXTURES = fileURLToPath(new URL('../testdata/multus-cache/', import.meta.url));

const substitute = (text: string, vars: Readonly<Record<string, string>>) => {
	let out = text;
	for (const [key, value] of Object.entries(vars)) out = out.replaceAll(`@${key}@`, value);
	return out;
};

/** The delegate configs of a fixture, decoded and with `vars` substituted, in list order. */
export async function fixtureConfigs(
	name: string,
	vars: Readonly<Record<string, string>>,
): Promise<string[]> {
	const list = JSON.parse(await readFile(`${MULTUS_FIXTURES}${name}`, 'utf8')) as {Bytes: string}[];
	return list.map((d) => substitute(Buffer.from(d.Bytes, 'base64').toString('utf8'), vars));
}

/**
 * The fixture's text with `vars` substituted everywhere, inside the base64 `Bytes` too (re-encoded
 * as Go does: standard base64 with padding). Files that are not a delegate list come back as read.
 */
export async function materializeFixture(
	name: string,
	vars: Readonly<Record<string, string>>,
): Promise<string> {
	const text = await readFile(`${MULTUS_FIXTURES}${name}`, 'utf8');
	let list: unknown;
	try {
		list = JSON.parse(text);
	} catch {
		return text;
	}
	if (!Array.isArray(list)) return text;
	const out = (list as Record<string, unknown>[]).map((d) => {
		const copy = JSON.parse(substitute(JSON.stringify(d), vars)) as Record<string, unknown>;
		if (typeof d['Bytes'] === 'string') {
			const bytes = substitute(Buffer.from(d['Bytes'], 'base64').toString('utf8'), vars);
			copy['Bytes'] = Buffer.from(bytes, 'utf8').toString('base64');
		}
		return copy;
	});
	return JSON.stringify(out);
}

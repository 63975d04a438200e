/**
 * The attachment cache fixtures in e2e/testdata/plexus-cache/: records as an earlier Plexus
 * release wrote them (plexusCacheV1, no progress lists), whose strings and base64 configs carry
 * @NAME@ placeholders so each test gets its own container, bridges and subnets. After substitution
 * the checksums are recomputed exactly as that release computes them, so the file reads as genuine.
 */
import {createHash} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';

export const PLEXUS_FIXTURES = fileURLToPath(new URL('../testdata/plexus-cache/', import.meta.url));

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

const substitute = (text: string, vars: Readonly<Record<string, string>>) => {
	let out = text;
	for (const [key, value] of Object.entries(vars)) out = out.replaceAll(`@${key}@`, value);
	return out;
};

/** The fixture's text with `vars` substituted everywhere (configs included) and its checksums redone. */
export async function materializePlexusCache(
	name: string,
	vars: Readonly<Record<string, string>>,
): Promise<string> {
	const raw = JSON.parse(await readFile(`${PLEXUS_FIXTURES}${name}`, 'utf8')) as Record<string, unknown>;
	const {checksum: _old, ...fields} = raw;
	const body = JSON.parse(substitute(JSON.stringify(fields), vars)) as Record<string, unknown>;
	for (const a of body['attachments'] as Record<string, unknown>[]) {
		const config = Buffer.from(substitute(Buffer.from(String(a['config']), 'base64').toString('utf8'), vars));
		a['config'] = config.toString('base64');
		a['sha256'] = sha256(config);
	}
	return `${JSON.stringify({...body, checksum: sha256(JSON.stringify(body))})}\n`;
}

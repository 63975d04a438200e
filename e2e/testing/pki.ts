/**
 * Test certificates made with openssl: a CA, a server certificate for 127.0.0.1 signed by it and
 * a client certificate (CN plexus) signed by it, written to a temp dir the caller removes.
 */
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';

export interface TestPki {
	caCert: Buffer;
	serverCert: Buffer;
	serverKey: Buffer;
	clientCert: Buffer;
	clientKey: Buffer;
	/** Paths of the PEM files, by the names above. */
	paths: Record<'caCert' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>;
}

/** Makes the CA and the two leaf certificates under `dir`. */
export async function makePki(dir: string): Promise<TestPki> {
	const p = (name: string) => join(dir, name);
	const ossl = (...args: string[]) => execa('openssl', args);
	await ossl(
		'req',
		'-x509',
		'-newkey',
		'ec',
		'-pkeyopt',
		'ec_paramgen_curve:prime256v1',
		'-nodes',
		'-days',
		'2',
		'-subj',
		'/CN=plexus-test-ca',
		'-keyout',
		p('ca.key'),
		'-out',
		p('ca.crt'),
	);
	const leaf = async (name: string, subject: string, ext: string) => {
		await ossl(
			'req',
			'-newkey',
			'ec',
			'-pkeyopt',
			'ec_paramgen_curve:prime256v1',
			'-nodes',
			'-subj',
			subject,
			'-keyout',
			p(`${name}.key`),
			'-out',
			p(`${name}.csr`),
		);
		await execa('sh', ['-c', `printf '%s\\n' "${ext}" > ${p(`${name}.ext`)}`]);
		await ossl(
			'x509',
			'-req',
			'-in',
			p(`${name}.csr`),
			'-CA',
			p('ca.crt'),
			'-CAkey',
			p('ca.key'),
			'-CAcreateserial',
			'-days',
			'2',
			'-extfile',
			p(`${name}.ext`),
			'-out',
			p(`${name}.crt`),
		);
	};
	await leaf('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:apiserver.test');
	await leaf('client', '/CN=plexus', 'extendedKeyUsage=clientAuth');
	const paths = {
		caCert: p('ca.crt'),
		serverCert: p('server.crt'),
		serverKey: p('server.key'),
		clientCert: p('client.crt'),
		clientKey: p('client.key'),
	};
	return {
		caCert: await readFile(paths.caCert),
		serverCert: await readFile(paths.serverCert),
		serverKey: await readFile(paths.serverKey),
		clientCert: await readFile(paths.clientCert),
		clientKey: await readFile(paths.clientKey),
		paths,
	};
}

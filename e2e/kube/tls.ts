/**
 * The test API server's TLS material: a throwaway CA and a server certificate it signs for
 * 127.0.0.1, ::1 and localhost, made with the openssl CLI (Debian's `openssl`, in prereqs.sh).
 * node:crypto makes keys but not X.509 certificates, and the CLI avoids an npm dependency for a
 * few lines of test scaffolding. ECDSA P-256 keeps generation to a few milliseconds; the result
 * is generated once per process and shared by every server it starts.
 */
import {execFile} from 'node:child_process';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';

const run = promisify(execFile);

/** PEM texts: the CA certificate (what kubeconfigs trust) and the server's certificate and key. */
export interface TestCertificates {
	readonly caCert: string;
	readonly cert: string;
	readonly key: string;
}

let cached: Promise<TestCertificates> | undefined;

/** The process's CA and server certificate, generated on first use. */
export function testCertificates(): Promise<TestCertificates> {
	cached ??= generate().catch((error: unknown) => {
		cached = undefined;
		throw error;
	});
	return cached;
}

async function generate(): Promise<TestCertificates> {
	const dir = await mkdtemp(join(tmpdir(), 'plexus-test-ca-'));
	const at = (name: string): string => join(dir, name);
	const out = (name: string): string[] => ['-keyout', at(`${name}.key`), '-out', at(`${name}.crt`)];
	const extensions = (list: string[]): string[] => list.flatMap((e) => ['-addext', e]);
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
	try {
		// The CA: self-signed, allowed to sign certificates only.
		const caSubject = ['-subj', '/CN=plexus-test-ca'];
		const caExtensions = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
		await run('openssl', ['req', '-x509', ...ec, ...caSubject, ...extensions(caExtensions), ...out('ca')]);
		// The server certificate, signed by the CA in the same command (`req -x509 -CA`, OpenSSL 3).
		const signer = ['-CA', at('ca.crt'), '-CAkey', at('ca.key')];
		const serverExtensions = [
			'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
			'basicConstraints=CA:FALSE',
			'extendedKeyUsage=serverAuth',
			'keyUsage=critical,digitalSignature',
		];
		const subject = ['-subj', '/CN=kube-apiserver'];
		await run('openssl', [
			'req',
			'-x509',
			...ec,
			...subject,
			...signer,
			...extensions(serverExtensions),
			...out('server'),
		]);
		const [caCert, cert, key] = await Promise.all(
			['ca.crt', 'server.crt', 'server.key'].map((name) => readFile(at(name), 'utf8')),
		);
		return {caCert: caCert ?? '', cert: cert ?? '', key: key ?? ''};
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
}

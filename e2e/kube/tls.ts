/**
 * The test API server's TLS material: a throwaway CA and a server certificate it signs for
 * 127.0.0.1, ::1 and localhost, made with the openssl CLI (Debian's `openssl`, in prereqs.sh).
 * node:crypto makes keys but not X.509 certificates, and the CLI avoids an npm dependency for a
 * few lines of test scaffolding. ECDSA P-256 keeps generation to a few milliseconds; the result
 * is generated once per process and shared by every server it starts.
 */
import {execFile} from 'node:child_process';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
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
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
	try {
		await run('openssl', [
			'req',
			'-x509',
			...ec,
			'-keyout',
			at('ca.key'),
			'-out',
			at('ca.crt'),
			'-days',
			'2',
			'-subj',
			'/CN=plexus-test-ca',
			'-addext',
			'basicConstraints=critical,CA:TRUE',
			'-addext',
			'keyUsage=critical,keyCertSign,cRLSign',
		]);
		await run('openssl', [
			'req',
			...ec,
			'-keyout',
			at('server.key'),
			'-out',
			at('server.csr'),
			'-subj',
			'/CN=kube-apiserver',
		]);
		await writeFile(
			at('server.ext'),
			'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
		);
		await run('openssl', [
			'x509',
			'-req',
			'-in',
			at('server.csr'),
			'-CA',
			at('ca.crt'),
			'-CAkey',
			at('ca.key'),
			'-CAcreateserial',
			'-out',
			at('server.crt'),
			'-days',
			'2',
			'-extfile',
			at('server.ext'),
		]);
		const [caCert, cert, key] = await Promise.all(
			['ca.crt', 'server.crt', 'server.key'].map((name) => readFile(at(name), 'utf8')),
		);
		return {caCert: caCert ?? '', cert: cert ?? '', key: key ?? ''};
	} finally {
		await rm(dir, {recursive: true, force: true});
	}
}

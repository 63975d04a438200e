import {describe, expect, test} from 'vitest';
import {parse} from 'yaml';
import {parseKubeconfigYaml} from './kubeconfig-yaml.ts';

// What Multus' thin entrypoint writes (deployments/ and its install script).
const MULTUS = `# Kubeconfig file for Multus CNI plugin.
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://[10.96.0.1]:443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
users:
- name: multus
  user:
    token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiJr"
contexts:
- name: multus-context
  context:
    cluster: local
    user: multus
current-context: multus-context
`;

// kubeadm's admin.conf shape: sequences indented under their key, empty-string and quoted values.
const KUBEADM = `apiVersion: v1
clusters:
  - cluster:
      certificate-authority: /etc/kubernetes/pki/ca.crt
      server: https://10.0.0.1:6443 # the control plane
      insecure-skip-tls-verify: false
      tls-server-name: 'kube''s.example'
    name: kubernetes
contexts:
  - context:
      cluster: kubernetes
      user: kubernetes-admin
    name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
  - name: kubernetes-admin
    user:
      client-certificate-data: QUJD
      client-key-data: REVG
`;

const PLAIN = `apiVersion: v1\r
clusters:\r
- cluster:\r
    server: http://127.0.0.1:8080\r
    insecure-skip-tls-verify: true\r
  name: c\r
users:\r
- name: u\r
  user:\r
    tokenFile: /var/run/secrets/token\r
    username:\r
contexts:\r
- context: {cluster: c, user: u}\r
  name: x\r
current-context: x\r
`;

describe('parseKubeconfigYaml', () => {
	test.each([
		['multus', MULTUS],
		['kubeadm without its flow mapping', KUBEADM.replace('preferences: {}\n', '')],
		[
			'crlf, booleans, an empty value',
			PLAIN.replace(
				'- context: {cluster: c, user: u}\r\n',
				'- context:\r\n    cluster: c\r\n    user: u\r\n',
			),
		],
	])('%s: the same document as the yaml package', (_name, text) => {
		expect(parseKubeconfigYaml(text)).toEqual(parse(text));
	});

	test.each([
		['a flow mapping', KUBEADM],
		['a flow mapping in a sequence item', PLAIN],
		['an anchor', 'a: &x 1\nb: *x\n'],
		['a block scalar', 'token: |\n  abc\n'],
		['an escape', 'token: "a\\nb"\n'],
		['a document marker', '---\napiVersion: v1\n'],
		['a multi-line plain scalar', 'token: abc\n  def\n'],
		['a number', 'port: 443\n'],
		['a duplicate key', 'a: x\na: y\n'],
		['a tab', 'a:\n\tb: c\n'],
	])('leaves %s to the yaml package', (_name, text) => {
		expect(parseKubeconfigYaml(text)).toBeUndefined();
	});
});

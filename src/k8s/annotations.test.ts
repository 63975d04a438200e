import {describe, expect, test} from 'vitest';
import {type AnnotationSource, ifnameProblem, isIpOrCidr, parseNetworkSelections} from './annotations.ts';

const source: AnnotationSource = {
	podNamespace: 'ns1',
	podName: 'web',
	annotation: 'k8s.v1.cni.cncf.io/networks',
};
const prefix = 'invalid annotation "k8s.v1.cni.cncf.io/networks" on pod "ns1/web": ';

function errorOf(fn: () => unknown): {code: number; message: string} {
	try {
		fn();
	} catch (error) {
		return error as {code: number; message: string};
	}
	throw new Error('expected an error');
}

describe('shorthand format', () => {
	test('name, ns/name and @interface, spaces around commas', () => {
		expect(parseNetworkSelections(' a , ns2/b@eth1,c@net5 ', source)).toEqual([
			{name: 'a', namespace: 'ns1'},
			{name: 'b', namespace: 'ns2', interface: 'eth1'},
			{name: 'c', namespace: 'ns1', interface: 'net5'},
		]);
	});

	test('an empty value selects nothing', () => {
		expect(parseNetworkSelections('  ', source)).toEqual([]);
	});

	test('un-namespaced elements use the given default namespace', () => {
		expect(parseNetworkSelections('cbr1', source, 'kube-system')).toEqual([
			{name: 'cbr1', namespace: 'kube-system'},
		]);
	});

	test.each([
		['Foo', 'element 1 ("Foo"): "name" "Foo" is not a DNS-1123 label'],
		['-a', 'element 1 ("-a"): "name" "-a" is not a DNS-1123 label'],
		['a.b', 'element 1 ("a.b"): "name" "a.b" is not a DNS-1123 label'],
		['a,,b', 'element 2 (""): "name" is required'],
		['x/y/z', 'element 1 ("x/y/z"): "name" "x/y/z" has more than one "/"'],
		['NS/a', 'element 1 ("NS/a"): "namespace" "NS" is not a DNS-1123 label'],
		[
			'a@waytoolonginterface',
			'element 1 ("a@waytoolonginterface"): "interface" "waytoolonginterface" is longer than 15',
		],
		['a@', 'element 1 ("a@"): "interface" "" is empty'],
	])('%j is refused: %s', (value, message) => {
		const error = errorOf(() => parseNetworkSelections(value, source));
		expect(error.code).toBe(7);
		expect(error.message.startsWith(prefix + message)).toBe(true);
	});
});

describe('JSON format', () => {
	test('every v1.3 field is parsed and normalised', () => {
		const value = JSON.stringify([
			{
				name: 'a',
				namespace: 'ns2',
				interface: 'eth1',
				ips: ['10.1.1.5/24', 'fd00::5'],
				mac: 'c2:b0:57:49:47:f1',
				'cni-args': {foo: 'bar'},
				portMappings: [
					{hostPort: 8080, containerPort: 80, protocol: 'UDP', hostIP: '10.0.0.1'},
					{hostPort: 1, containerPort: 2},
				],
				bandwidth: {ingressRate: 1000, ingressBurst: 100, egressRate: 2000},
				'default-route': ['10.1.1.1'],
				'infiniband-guid': 'c2:11:22:33:44:55:66:77',
				deviceID: '0000:18:02.5',
				'org.example.custom': {any: 'thing'},
			},
			{name: 'b', namespace: '', interfaceRequest: 'net9', 'ipam-claim-reference': 'claim.one'},
		]);
		expect(parseNetworkSelections(value, source)).toEqual([
			{
				name: 'a',
				namespace: 'ns2',
				interface: 'eth1',
				ips: ['10.1.1.5/24', 'fd00::5'],
				mac: 'c2:b0:57:49:47:f1',
				cniArgs: {foo: 'bar'},
				portMappings: [
					{hostPort: 8080, containerPort: 80, protocol: 'udp', hostIP: '10.0.0.1'},
					{hostPort: 1, containerPort: 2, protocol: 'tcp'},
				],
				bandwidth: {ingressRate: 1000, ingressBurst: 100, egressRate: 2000},
				defaultRoute: ['10.1.1.1'],
				infinibandGuid: 'c2:11:22:33:44:55:66:77',
				deviceID: '0000:18:02.5',
			},
			{name: 'b', namespace: 'ns1', interface: 'net9', ipamClaimReference: 'claim.one'},
		]);
	});

	test('an empty default-route list is kept (use the plugin gateway)', () => {
		expect(parseNetworkSelections('[{"name":"a","default-route":[]}]', source)[0]?.defaultRoute).toEqual([]);
	});

	test.each([
		['[{"name":"a"}', 'value: is not valid JSON'],
		['{"name":"a"}', 'value: must be a JSON list of network selection elements'],
		['["a"]', 'element 1: "element" must be a JSON object'],
		['[{"namespace":"x"}]', 'element 1: "name" is required'],
		['[{"name":"A_b"}]', 'element 1 ("A_b"): "name" "A_b" is not a DNS-1123 label'],
		['[{"name":"a","namespace":"Bad"}]', 'element 1 ("a"): "namespace" "Bad" is not a DNS-1123 label'],
		['[{"name":"a","foo":1}]', 'element 1 ("a"): "foo" is not a field of the network selection element'],
		[
			'[{"name":"a","interface":"eth/0"}]',
			'element 1 ("a"): "interface" "eth/0" contains "/", ":" or whitespace',
		],
		[
			'[{"name":"a","interface":"x","interfaceRequest":"y"}]',
			'element 1 ("a"): "interfaceRequest" is the legacy spelling',
		],
		['[{"name":"a","ips":[]}]', 'element 1 ("a"): "ips" must not be empty'],
		['[{"name":"a","ips":["10.1.1"]}]', 'element 1 ("a"): "ips[0]" is not an IP address or CIDR: "10.1.1"'],
		['[{"name":"a","ips":["10.1.1.1/33"]}]', 'element 1 ("a"): "ips[0]" is not an IP address or CIDR'],
		['[{"name":"a","mac":"00:11:22:33:44:55:66:77"}]', 'element 1 ("a"): "mac" is not a 6-byte MAC address'],
		['[{"name":"a","cni-args":[1]}]', 'element 1 ("a"): "cni-args" must be an object'],
		['[{"name":"a","portMappings":[]}]', 'element 1 ("a"): "portMappings" must be a non-empty list'],
		[
			'[{"name":"a","portMappings":[{"hostPort":0,"containerPort":80}]}]',
			'element 1 ("a"): "portMappings[0].hostPort" must be an integer from 1 to 65535, got 0',
		],
		[
			'[{"name":"a","portMappings":[{"hostPort":80,"containerPort":80,"protocol":"icmp"}]}]',
			'element 1 ("a"): "portMappings[0].protocol" must be TCP, UDP or SCTP',
		],
		[
			'[{"name":"a","bandwidth":{"ingressBurst":10}}]',
			'element 1 ("a"): "bandwidth.ingressBurst" needs "ingressRate"',
		],
		[
			'[{"name":"a","bandwidth":{"egressRate":0}}]',
			'element 1 ("a"): "bandwidth.egressRate" must be a positive integer, got 0',
		],
		['[{"name":"a","bandwidth":{"rate":1}}]', 'element 1 ("a"): "bandwidth.rate" is not a bandwidth key'],
		[
			'[{"name":"a","default-route":["gw"]}]',
			'element 1 ("a"): "default-route[0]" is not an IP address: "gw"',
		],
		[
			'[{"name":"a","infiniband-guid":"00:11:22:33:44:55"}]',
			'element 1 ("a"): "infiniband-guid" is not an 8-byte GUID',
		],
		[
			'[{"name":"a","ips":["10.0.0.1"],"ipam-claim-reference":"c"}]',
			'element 1 ("a"): "ipam-claim-reference" cannot be combined with "ips"',
		],
		['[{"name":"a","deviceID":""}]', 'element 1 ("a"): "deviceID" must be a non-empty string'],
		[
			'[{"name":"a","default-route":[]},{"name":"b"},{"name":"c","default-route":["10.0.0.1"]}]',
			'elements 1 and 3: "default-route" may be set on one element only',
		],
	])('%s is refused: %s', (value, message) => {
		const error = errorOf(() => parseNetworkSelections(value, source));
		expect(error.code).toBe(7);
		expect(error.message.startsWith(prefix + message)).toBe(true);
	});
});

describe('helpers', () => {
	test.each([
		['10.0.0.1', true],
		['10.0.0.0/8', true],
		['fd00::1/64', true],
		['fd00::1/129', false],
		['10.0.0.1/', false],
		['host', false],
	])('isIpOrCidr(%j) = %s', (value, expected) => {
		expect(isIpOrCidr(value)).toBe(expected);
	});

	test.each([
		['eth0', undefined],
		['0123456789abcdef', 'is longer than 15 characters'],
		['..', 'is "." or ".."'],
		['a b', 'contains "/", ":" or whitespace'],
	])('ifnameProblem(%j)', (name, problem) => {
		expect(ifnameProblem(name)).toBe(problem);
	});
});

import {describe, expect, test} from 'vitest';
import {
	formatCniArgs,
	parseCniArgs,
	parseCniEnv,
	splitPath,
	validateContainerId,
	validateIfname,
	validateNetworkName,
} from './env.ts';

const getenvOf = (vars: Record<string, string>) => (name: string) => vars[name];
const full = {
	CNI_COMMAND: 'ADD',
	CNI_CONTAINERID: 'abc-123_x.y',
	CNI_NETNS: '/var/run/netns/x',
	CNI_IFNAME: 'eth0',
	CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
	CNI_PATH: '/opt/cni/bin::/usr/lib/cni',
};

describe('parseCniEnv', () => {
	test('reads every variable', () => {
		expect(parseCniEnv(getenvOf(full))).toEqual({
			command: 'ADD',
			containerId: 'abc-123_x.y',
			netns: '/var/run/netns/x',
			ifname: 'eth0',
			args: 'IgnoreUnknown=1;K8S_POD_NAME=web',
			argPairs: [
				['IgnoreUnknown', '1'],
				['K8S_POD_NAME', 'web'],
			],
			path: ['/opt/cni/bin', '/usr/lib/cni'],
		});
	});

	test.each([
		['ADD', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']],
		['CHECK', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']],
		['DEL', ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH']],
		['GC', ['CNI_PATH']],
	])('%s lists every missing required variable (code 4)', (command, missing) => {
		expect(() => parseCniEnv(getenvOf({CNI_COMMAND: command}))).toThrow(
			expect.objectContaining({code: 4, message: `required env variables [${missing.join(',')}] missing`}),
		);
	});

	test('DEL does not need CNI_NETNS; STATUS and VERSION need only the command', () => {
		const {CNI_NETNS: _, ...noNetns} = full;
		expect(parseCniEnv(getenvOf({...noNetns, CNI_COMMAND: 'DEL'})).netns).toBe('');
		expect(parseCniEnv(getenvOf({CNI_COMMAND: 'STATUS'})).command).toBe('STATUS');
		expect(parseCniEnv(getenvOf({CNI_COMMAND: 'VERSION'})).command).toBe('VERSION');
	});

	test('missing or unknown CNI_COMMAND is code 4', () => {
		expect(() => parseCniEnv(getenvOf({}))).toThrow(/\[CNI_COMMAND\] missing/);
		expect(() => parseCniEnv(getenvOf({CNI_COMMAND: 'UP'}))).toThrow(
			expect.objectContaining({code: 4, message: expect.stringContaining('unknown CNI_COMMAND "UP"')}),
		);
	});

	test('validates the container ID and interface name of ADD/CHECK/DEL', () => {
		expect(() => parseCniEnv(getenvOf({...full, CNI_CONTAINERID: '-bad'}))).toThrow(/containerID "-bad"/);
		expect(() => parseCniEnv(getenvOf({...full, CNI_COMMAND: 'DEL', CNI_IFNAME: 'a/b'}))).toThrow(/"a\/b"/);
	});
});

describe('validators', () => {
	test.each(['a', 'A9', 'abc_.-x', '0123456789abcdef'])('container ID %s is valid', (id) => {
		expect(() => validateContainerId(id)).not.toThrow();
	});
	test.each(['_a', '.a', 'a b', 'a/b', 'a:b', 'ä'])('container ID %s is code 4', (id) => {
		expect(() => validateContainerId(id)).toThrow(expect.objectContaining({code: 4}));
	});
	test('an empty container ID is code 3', () => {
		expect(() => validateContainerId('')).toThrow(
			expect.objectContaining({code: 3, message: 'missing containerID'}),
		);
	});

	test.each([
		['', 'interface name is empty'],
		['0123456789abcdef', 'longer than 15'],
		['.', 'is . or ..'],
		['..', 'is . or ..'],
		['a/b', 'contains /'],
		['a:b', 'contains /'],
		['a b', 'contains /'],
		['a\tb', 'contains /'],
		['a\u0085b', 'contains /'],
		['a\u3000b', 'contains /'],
	])('interface name %j is refused (%s)', (name, why) => {
		expect(() => validateIfname(name)).toThrow(
			expect.objectContaining({code: 4, message: expect.stringContaining(why)}),
		);
	});
	// U+FEFF is no whitespace to Go's unicode.IsSpace, unlike the regex \s.
	test.each(['eth0', '0123456789abcde', 'net1.100', 'a-b_c', 'a\ufeffb'])(
		'interface name %s is valid',
		(name) => {
			expect(() => validateIfname(name)).not.toThrow();
		},
	);

	test('network names follow the container ID syntax with code 7', () => {
		expect(() => validateNetworkName('my-net.1')).not.toThrow();
		expect(() => validateNetworkName('')).toThrow(expect.objectContaining({code: 7}));
		expect(() => validateNetworkName('bad name')).toThrow(expect.objectContaining({code: 7}));
	});
});

describe('CNI_ARGS and CNI_PATH', () => {
	test('round-trips K=V pairs', () => {
		const pairs = parseCniArgs('IgnoreUnknown=true;K8S_POD_NAMESPACE=default;EMPTY=');
		expect(pairs).toEqual([
			['IgnoreUnknown', 'true'],
			['K8S_POD_NAMESPACE', 'default'],
			['EMPTY', ''],
		]);
		expect(formatCniArgs(pairs)).toBe('IgnoreUnknown=true;K8S_POD_NAMESPACE=default;EMPTY=');
		expect(parseCniArgs('')).toEqual([]);
	});
	test.each(['novalue', 'a=b=c', 'a=1;;b=2'])('refuses %j with code 4 naming the pair', (args) => {
		expect(() => parseCniArgs(args)).toThrow(
			expect.objectContaining({code: 4, message: expect.stringContaining('pair')}),
		);
	});
	test('splitPath drops empty entries', () => {
		expect(splitPath('/a::/b:')).toEqual(['/a', '/b']);
		expect(splitPath(undefined)).toEqual([]);
	});
});

describe('NUL bytes (issue 12)', () => {
	test('an interface name with NUL is code 4', () => {
		expect(() => validateIfname('eth\u00000')).toThrow(
			expect.objectContaining({code: 4, message: 'invalid interface name "eth\u00000": contains a NUL byte'}),
		);
	});

	test.each(['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'])(
		'%s with NUL (a daemon request can carry one) is code 4 naming the variable',
		(name) => {
			const vars: Record<string, string> = {...full, [name]: `${full[name as keyof typeof full]}\u0000x`};
			expect(() => parseCniEnv(getenvOf(vars))).toThrow(
				expect.objectContaining({code: 4, message: `invalid env variable ${name}: contains a NUL byte`}),
			);
		},
	);
});

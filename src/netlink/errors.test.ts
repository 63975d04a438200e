import {describe, expect, it} from 'vitest';
import {isCniError} from '../cni/errors.ts';
import {
	errnoName,
	isExists,
	isNotFound,
	isNotSupported,
	LinkNotFoundError,
	NetlinkError,
	NetnsNotFoundError,
} from './errors.ts';
import {sysctlName, sysctlPath} from './sysctl.ts';

describe('netlink errors', () => {
	it('names errnos as the kernel headers do', () => {
		expect([17, 19, 95, 11, 3, 99].map(errnoName)).toEqual([
			'EEXIST',
			'ENODEV',
			'EOPNOTSUPP',
			'EAGAIN',
			'ESRCH',
			'EADDRNOTAVAIL',
		]);
		expect(errnoName(4242)).toBe('E4242');
	});

	it('builds "failed to <operation>: <text> (<ERRNO>): <ext-ack>" and classifies the errno', () => {
		const err = new NetlinkError('add link "blue"', 95, 'Unknown device type');
		expect(err.message).toBe(
			'failed to add link "blue": operation not supported (EOPNOTSUPP): Unknown device type',
		);
		expect(isCniError(err) && err.code).toBe(999);
		expect([isNotSupported(err), isExists(err), isNotFound(err)]).toEqual([true, false, false]);
		expect(isExists(new NetlinkError('x', 17))).toBe(true);
		for (const errno of [2, 3, 19, 99]) expect(isNotFound(new NetlinkError('x', errno))).toBe(true);
		expect(isNotFound(new Error('ENODEV'))).toBe(false);
		expect(new NetlinkError('x', 17, '').extack).toBeUndefined();
	});

	it('has typed not-found errors for links and namespaces', () => {
		const link = new LinkNotFoundError('eth9');
		expect(link).toBeInstanceOf(NetlinkError);
		expect(link).toMatchObject({link: 'eth9', errnoName: 'ENODEV', notFound: true});
		expect(link.message).toBe('failed to find link "eth9": no such device (ENODEV)');
		const ns = new NetnsNotFoundError('/var/run/netns/gone');
		expect(ns).toMatchObject({code: 8, path: '/var/run/netns/gone'});
		expect(ns.message).toBe('failed to open netns "/var/run/netns/gone": no such network namespace');
	});
});

describe('sysctl keys', () => {
	it.each([
		['net.ipv4.ip_forward', '/proc/sys/net/ipv4/ip_forward'],
		['net/ipv6/conf/eth0.100/keep_addr_on_down', '/proc/sys/net/ipv6/conf/eth0.100/keep_addr_on_down'],
		['/proc/sys/net/core/somaxconn', '/proc/sys/net/core/somaxconn'],
	])('%s → %s', (key, path) => {
		expect(sysctlPath(key)).toBe(path);
	});

	it('refuses keys outside /proc/sys/net with code 7', () => {
		for (const key of ['kernel.hostname', 'net/../kernel/x', 'net', 'net//ipv4', '']) {
			let err: unknown;
			try {
				sysctlPath(key);
			} catch (e) {
				err = e;
			}
			expect(isCniError(err) && err.code, key).toBe(7);
		}
		expect(sysctlName('net/ipv6/conf/eth0/keep_addr_on_down')).toBe('net.ipv6.conf.eth0.keep_addr_on_down');
	});
});

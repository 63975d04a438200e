import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {plexusVersion, setPlexusMode, userAgent, versionLine} from './version.ts';

const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
	version: string;
};

describe('version', () => {
	afterEach(() => setPlexusMode('one-shot'));

	it("is package.json's version", () => {
		expect(plexusVersion()).toBe(pkg.version);
		expect(plexusVersion()).toMatch(/^\d+\.\d+\.\d+/);
	});

	it('names the version and the mode in the User-Agent', () => {
		expect(userAgent()).toBe(`plexus/${pkg.version} (one-shot)`);
		setPlexusMode('daemon');
		expect(userAgent()).toBe(`plexus/${pkg.version} (daemon)`);
		setPlexusMode('cli');
		expect(userAgent()).toBe(`plexus/${pkg.version} (cli)`);
	});

	it('prints the version and the Node version on one line', () => {
		expect(versionLine()).toBe(`plexus ${pkg.version} (node ${process.versions.node})\n`);
	});
});

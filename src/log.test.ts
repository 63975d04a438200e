import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {configureLog, lockLogConfig, log} from './log.ts';

describe('log', () => {
	const dir = mkdtempSync(join(tmpdir(), 'plexus-log-'));
	const file = join(dir, 'log');
	const lines = () =>
		readFileSync(file, 'utf8')
			.trim()
			.split('\n')
			.map((line) => JSON.parse(line) as Record<string, unknown>);

	afterAll(() => {
		rmSync(dir, {recursive: true, force: true});
	});

	it('writes JSON lines at or above the configured level; after lockLogConfig, configureLog is ignored', () => {
		configureLog({logToStderr: false, logFile: file, logLevel: 'info'});
		log('info', 'kept', {a: 1});
		log('debug', 'dropped');
		lockLogConfig();
		configureLog({logLevel: 'debug', logFile: join(dir, 'other')});
		log('debug', 'still dropped');
		log('error', 'kept too');
		expect(lines().map((l) => [l['level'], l['msg'], l['a']])).toEqual([
			['info', 'kept', 1],
			['error', 'kept too', undefined],
		]);
		expect(typeof lines()[0]?.['time']).toBe('string');
	});
});

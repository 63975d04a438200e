/**
 * Logging. stdout is the CNI protocol channel, so logs only ever go to stderr or a log file.
 */
import {appendFileSync} from 'node:fs';
import {isoNow} from './clock.ts';

export const LOG_LEVELS = ['panic', 'error', 'warning', 'info', 'debug', 'verbose'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogSink {
	logFile?: string | undefined;
	logLevel?: LogLevel | undefined;
	logToStderr?: boolean | undefined;
}

const sink: Required<{[K in keyof LogSink]: LogSink[K]}> = {
	logFile: undefined,
	logLevel: 'info',
	logToStderr: true,
};

let locked = false;

/**
 * Freezes the logger as configured now: later configureLog calls are ignored. The daemon calls it
 * after applying its own flags, so a request's conf (logLevel, logFile) cannot re-point the
 * logging of the whole long-lived process.
 */
export function lockLogConfig(): void {
	locked = true;
}

/** Re-points the process-wide logger (from the Plexus conf's logFile/logLevel/logToStderr). */
export function configureLog(options: LogSink): void {
	if (locked) return;
	if (options.logFile !== undefined) sink.logFile = options.logFile;
	if (options.logLevel !== undefined) sink.logLevel = options.logLevel;
	if (options.logToStderr !== undefined) sink.logToStderr = options.logToStderr;
}

/** Writes one structured JSON log line at `level`, if the configured level lets it through. */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
	if (LOG_LEVELS.indexOf(level) > LOG_LEVELS.indexOf(sink.logLevel ?? 'info')) return;
	const line = `${JSON.stringify({time: isoNow(), level, msg, ...fields})}\n`;
	if (sink.logToStderr) process.stderr.write(line);
	if (sink.logFile !== undefined) {
		try {
			appendFileSync(sink.logFile, line, {mode: 0o600});
		} catch {
			// A broken log file must never fail a CNI operation.
		}
	}
}

/** True when a line at `level` would be written (to skip building costly fields). */
export function logEnabled(level: LogLevel): boolean {
	return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(sink.logLevel ?? 'info');
}

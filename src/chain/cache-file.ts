/**
 * Cache file names that always fit the file system, and the atomic write both caches use.
 *
 * A name component is at most 255 bytes (NAME_MAX on Linux file systems). libcni names a result
 * `<network>-<containerID>-<ifname>`, and Plexus' attachment cache `<containerID>-<ifname>.json`;
 * a long network name or container ID makes those too long (ENAMETOOLONG on ADD, then every DEL
 * fails the same way). A name that fits is kept exactly, so cnitool and libcni find the same files;
 * one that does not is shortened deterministically (its head plus the sha256 of the whole name), so
 * ADD, DEL and GC compute the same file. The temporary name of an atomic write
 * (`<name>.tmp-<pid>-<hex>`) is shortened too when it would not fit.
 */
import {createHash} from 'node:crypto';
import {mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {randomHex8} from '../random-hex.ts';
import {replaceFileSync} from './replace-file.ts';

/** The longest name component Linux file systems take, in bytes. */
export const NAME_MAX = 255;

/** The marker every temporary file name carries (readers skip such files). */
export const TEMP_MARKER = '.tmp-';

/** `.tmp-` + a pid (pid_max is at most 4194304: 7 digits) + `-` + 8 hex digits. */
const TEMP_SUFFIX_MAX = TEMP_MARKER.length + 7 + 1 + 8;

/** The longest prefix of `text` that is at most `bytes` UTF-8 bytes, never splitting a character. */
function headBytes(text: string, bytes: number): string {
	let out = '';
	let size = 0;
	for (const char of text) {
		const length = Buffer.byteLength(char);
		if (size + length > bytes) break;
		out += char;
		size += length;
	}
	return out;
}

/**
 * The file name for `name` + `suffix`: exactly that when it fits in NAME_MAX bytes, else the head
 * of `name`, "~", the sha256 (hex) of `name`, and `suffix`, short enough that its temporary name
 * fits as well.
 *
 * @example
 * fitFileName('blue-c1-eth0'); // 'blue-c1-eth0'
 * fitFileName('n'.repeat(250) + '-c1-eth0'); // 'nnn…nnn~<64 hex digits>'
 */
export function fitFileName(name: string, suffix = ''): string {
	if (Buffer.byteLength(name + suffix) <= NAME_MAX) return name + suffix;
	const hash = createHash('sha256').update(name).digest('hex');
	const room = NAME_MAX - TEMP_SUFFIX_MAX - Buffer.byteLength(suffix) - hash.length - 1;
	return `${headBytes(name, room)}~${hash}${suffix}`;
}

/**
 * A fresh temporary name next to file name `name`, at most NAME_MAX bytes. The 32 random bits only
 * keep two writers (say processes of one pid in different pid namespaces) apart in a directory only
 * root can write, so Math.random serves: crypto.randomBytes cost ~0.2 ms a call on the bench host,
 * and an ADD writes ~11 of these.
 */
export function tempFileName(name: string): string {
	const suffix = `${TEMP_MARKER}${process.pid}-${randomHex8()}`;
	return `${headBytes(name, NAME_MAX - suffix.length)}${suffix}`;
}

/**
 * Writes `text` to `<dir>/<name>` atomically: the directory is created (`dirMode`), the text goes
 * to a temporary file (mode 0600) that then takes the target's place (an exchange rather than a
 * rename over it, ./replace-file.ts). On failure the temporary file is removed and the error is
 * thrown as is.
 *
 * Synchronous: both caches are small files written on the hot path (the plexus record before each
 * plugin of an ADD, one libcni result per network), and each awaited step of an asynchronous write
 * (mkdir, open, write, close, rename) is a thread-pool round trip and an event-loop turn, ~1-3 ms
 * per file on a busy node against ~0.1 ms of system calls.
 *
 * Not fsync'd, as libcni's own cache writes are not: a crashed or killed process leaves the old
 * file or the new one, never half of one (the page cache outlives the process), and what a power
 * loss could tear is caught by the readers (a plexus record is checksummed, a torn one sends DEL to
 * the API) while the pods' netns are gone after a reboot anyway. An ADD writes ~11 of these; the
 * flush cost ~2 ms each on the bench host (ext4 on virtio), ~20 ms of a 200 ms ADD.
 */
export function writeFileAtomicSync(dir: string, name: string, text: string, dirMode = 0o700): void {
	mkdirSync(dir, {recursive: true, mode: dirMode});
	const tmp = join(dir, tempFileName(name));
	try {
		writeFileSync(tmp, text, {mode: 0o600});
		replaceFileSync(tmp, join(dir, name));
	} catch (error) {
		rmSync(tmp, {force: true});
		throw error;
	}
}

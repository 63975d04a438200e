/**
 * The promise forms of the node:fs calls made on a CNI call's path (caches, confs, kubeconfig,
 * delegate lookup), over node:fs's callback API. node:fs/promises itself (FileHandle, its streams)
 * costs a one-shot process ~2.5 ms to load on the bench machine, for calls that are one system call
 * each; util.promisify keeps node's own argument handling and errors.
 */
import {
	access as accessCb,
	copyFile as copyFileCb,
	lstat as lstatCb,
	mkdir as mkdirCb,
	readdir as readdirCb,
	readFile as readFileCb,
	readlink as readlinkCb,
	rm as rmCb,
	stat as statCb,
} from 'node:fs';
import {promisify} from 'node:util';

export const access = promisify(accessCb);
export const copyFile = promisify(copyFileCb);
export const lstat = promisify(lstatCb);
export const mkdir = promisify(mkdirCb);
export const readdir = promisify(readdirCb);
export const readFile = promisify(readFileCb);
export const readlink = promisify(readlinkCb);
export const rm = promisify(rmCb);
export const stat = promisify(statCb);

/**
 * The test node's own network namespace: containerd, the CNI plugins it runs and the daemon live
 * in it, so everything they do to "the host's" network (bridges, host-side veths, portmap's
 * iptables chains, ip_forward and route_localnet sysctls) happens in a namespace the test created
 * and disappears with it. Unix sockets (CRI, the daemon's) are files and work across namespaces.
 *
 * The test API server listens on 127.0.0.1 of the test process's namespace; `forwardLoopback`
 * makes the same address and port answer inside the node namespace, through a relay process in the
 * node and a unix socket served by the test process (no host interface, no route, no iptables).
 */
import {createConnection, createServer, type Server, type Socket} from 'node:net';
import {join} from 'node:path';
import {execa} from 'execa';
import {createNetns, type Netns, removeNetns} from '../../helpers/netns.ts';

/** The relay inside the node: 127.0.0.1:<port> → the unix socket (argv: port, socket path). */
const RELAY = `
const net = require('node:net');
const [port, path] = process.argv.slice(1);
net.createServer((client) => {
	const upstream = net.createConnection(path);
	client.pipe(upstream).pipe(client);
	const close = () => { client.destroy(); upstream.destroy(); };
	client.on('error', close);
	upstream.on('error', close);
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
`;

/** Runs the relay for `port` in the netns at `path`. */
function spawnRelay(path: string, port: number, socketPath: string) {
	return execa('nsenter', [`--net=${path}`, process.execPath, '-e', RELAY, String(port), socketPath], {
		reject: false,
	});
}

type Relay = ReturnType<typeof spawnRelay>;

export class NodeNetns {
	readonly netns: Netns;
	readonly #dir: string;
	readonly #relays: Relay[] = [];
	readonly #servers: Server[] = [];
	readonly #sockets = new Set<Socket>();

	private constructor(netns: Netns, dir: string) {
		this.netns = netns;
		this.#dir = dir;
	}

	/** Creates the namespace (lo up); `dir` holds the relays' unix sockets. */
	static async create(dir: string): Promise<NodeNetns> {
		return new NodeNetns(await createNetns('pxnode'), dir);
	}

	/** /var/run/netns/<name>. */
	get path(): string {
		return this.netns.path;
	}

	/** `[nsenter, --net=<path>]`, to prefix a command that must run in the node. */
	get enter(): [string, string] {
		return ['nsenter', `--net=${this.netns.path}`];
	}

	/** Runs a command in the node namespace (nsenter execs it: the pid is the command's). */
	run(file: string, args: readonly string[]) {
		return execa('nsenter', [`--net=${this.netns.path}`, file, ...args]);
	}

	/** Makes 127.0.0.1:`port` inside the node reach 127.0.0.1:`port` of the test process. */
	async forwardLoopback(port: number): Promise<void> {
		const socketPath = join(this.#dir, `loopback-${port}.sock`);
		const server = createServer((inbound) => {
			const outbound = createConnection({host: '127.0.0.1', port});
			for (const socket of [inbound, outbound]) {
				this.#sockets.add(socket);
				socket.on('close', () => this.#sockets.delete(socket));
				socket.on('error', () => {
					inbound.destroy();
					outbound.destroy();
				});
			}
			inbound.pipe(outbound).pipe(inbound);
		});
		await new Promise<void>((resolve) => server.listen(socketPath, resolve));
		this.#servers.push(server);
		const relay = spawnRelay(this.netns.path, port, socketPath);
		this.#relays.push(relay);
		await new Promise<void>((resolve, reject) => {
			relay.stdout?.once('data', () => resolve());
			void relay.then((r) => reject(new Error(`loopback relay exited: ${r.stderr}`)));
		});
	}

	/** Stops the relays and deletes the namespace (and with it every link and rule in it). */
	async close(): Promise<void> {
		for (const relay of this.#relays.splice(0)) {
			relay.kill('SIGKILL');
			await relay;
		}
		for (const socket of this.#sockets) socket.destroy();
		for (const server of this.#servers.splice(0)) await new Promise((resolve) => server.close(resolve));
		await removeNetns(this.netns);
	}
}

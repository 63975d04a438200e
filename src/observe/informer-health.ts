/**
 * The health of the daemon's watch caches, kept as plain numbers the informers update in passing
 * (a field write per event) and the metrics read at scrape time: synced or not, when the last
 * event arrived, how many times the list was (re)started.
 */

/** One informer's state. */
export interface InformerState {
	synced: boolean;
	/** performance.now() of the last list or watch event; undefined before the first. */
	lastEventAt: number | undefined;
	/** Lists run after the first (each watch failure restarts the list). */
	relists: number;
}

const informers = new Map<string, InformerState>();

/** The state of informer `name` ("pods", "nads"), created on first use. */
export function informerState(name: string): InformerState {
	let state = informers.get(name);
	if (state === undefined) {
		state = {synced: false, lastEventAt: undefined, relists: 0};
		informers.set(name, state);
	}
	return state;
}

/** Every informer seen so far, by name. */
export function informerStates(): ReadonlyMap<string, InformerState> {
	return informers;
}

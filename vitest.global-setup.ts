/**
 * Set-up of the e2e and vm projects: bin/plexus runs the bundle in dist/plexus, so it is rebuilt
 * first when the sources changed since it was built (a no-op otherwise, ~0.1 s to check).
 */
import {ensureBundle} from './scripts/bundle/bundle.ts';

export default async function setup(): Promise<void> {
	await ensureBundle();
}

/**
 * `npm run build`: makes dist/plexus (the bundled `plexus` command, see ./bundle/bundle.ts) current
 * with the sources; `--force` rebuilds even when it is. `npm ci` runs it; so do `npm test`, the
 * test runner's set-up, the bench, the demo and the image build.
 */
import {ensureBundle} from './bundle/bundle.ts';

const built = await ensureBundle(undefined, process.argv.includes('--force'));
process.stderr.write(built ? 'bundle: built dist/plexus\n' : 'bundle: dist/plexus is up to date\n');

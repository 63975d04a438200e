// Loaded with `node --import` (through NODE_OPTIONS) by e2e tests: appends the URL of every
// @kubernetes/client-node module the process resolves to $PLEXUS_MODULE_LOG, so a test can prove
// that a verb never loaded the Kubernetes client.
import {appendFileSync} from 'node:fs';
import {registerHooks} from 'node:module';

const logFile = process.env['PLEXUS_MODULE_LOG'];
registerHooks({
	resolve(specifier, context, next) {
		const resolved = next(specifier, context);
		if (logFile !== undefined && resolved.url.includes('@kubernetes/client-node'))
			appendFileSync(logFile, `${resolved.url}\n`);
		return resolved;
	},
});

// Loaded with `node --import` (through NODE_OPTIONS) by e2e tests: appends the URL of every module
// of the Kubernetes client the process resolves (Plexus's REST client under src/k8s/rest/, its
// chunk dist/plexus/k8s-rest-*.js in the bundle bin/plexus runs, or @kubernetes/client-node should
// anything still load it) to $PLEXUS_MODULE_LOG, so a test can prove which verbs load the client.
import {appendFileSync} from 'node:fs';
import {registerHooks} from 'node:module';

const logFile = process.env['PLEXUS_MODULE_LOG'];
registerHooks({
	resolve(specifier, context, next) {
		const resolved = next(specifier, context);
		if (
			logFile !== undefined &&
			(resolved.url.includes('/src/k8s/rest/') ||
				resolved.url.includes('/dist/plexus/k8s-rest-') ||
				resolved.url.includes('@kubernetes/client-node'))
		)
			appendFileSync(logFile, `${resolved.url}\n`);
		return resolved;
	},
});

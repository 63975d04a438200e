/**
 * Entry of `scripts/install`: `scripts/install [options]` installs, `scripts/install --uninstall
 * [options]` uninstalls. Messages go to stderr; nothing is printed on stdout.
 */
import {runInstallCommand} from './cli.ts';

const argv = process.argv.slice(2);
const uninstalling = argv.includes('--uninstall');
const outcome = await runInstallCommand(
	uninstalling ? 'uninstall' : 'install',
	argv.filter((arg) => arg !== '--uninstall'),
);
process.stderr.write(outcome.stdout + outcome.stderr);
process.exitCode = outcome.exitCode;

// stdout is the CNI protocol channel: no code may print through console.*. Make any such call
// fail the test that made it, so a stray console.log cannot slip into a plugin's output.
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
	console[method] = (...args: unknown[]) => {
		throw new Error(
			`console.${method} called (stdout/stderr belong to the CNI protocol): ${args.map(String).join(' ')}`,
		);
	};
}

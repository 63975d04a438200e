/**
 * Renders a dry-run report: a readable table (ANSI colour only when asked, i.e. on a TTY), or the
 * JSON document whose schema README.md documents (`schemaVersion` 1).
 */

import type {
	AttachmentPlan,
	DryRunReport,
	Execution,
	Finding,
	NetView,
	PluginPlan,
	Simulation,
} from './types.ts';

export interface Style {
	color: boolean;
}

const paint = (style: Style, code: string, text: string) =>
	style.color ? `\u001b[${code}m${text}\u001b[0m` : text;

/** Pads every column of `rows` to its widest cell (the last column is not padded). */
function columns(rows: readonly (readonly string[])[], indent: string): string[] {
	const widths: number[] = [];
	for (const row of rows)
		for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
	return rows.map(
		(row) =>
			indent +
			row
				.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
				.join('  ')
				.trimEnd(),
	);
}

function runsAs(p: PluginPlan): string {
	if (p.runsAs === 'builtin') return 'built-in (in-process)';
	if (p.runsAs === 'binary') return p.path ?? '';
	return 'not found on CNI_PATH';
}

function versions(p: PluginPlan): string {
	return p.supportedVersions === null ? '?' : p.supportedVersions.join(' ');
}

function findingLine(f: Finding, style: Style): string {
	const label = f.severity === 'error' ? paint(style, '1;31', 'error') : paint(style, '1;33', 'warning');
	const sim = f.source === undefined ? '' : f.source === 'simulation' ? ' (simulated)' : ' (executed)';
	const where =
		f.network === undefined ? '' : ` [${f.network}${f.plugin === undefined ? '' : ` plugin ${f.plugin}`}]`;
	return `${label}${sim}${where}: ${f.message}${f.details === undefined ? '' : ` (${f.details})`}`;
}

function attachmentBlock(a: AttachmentPlan, n: number, style: Style): string[] {
	const kind = a.isClusterNetwork ? ', cluster network' : '';
	const route = a.defaultRoute === null ? '' : `, default-route [${a.defaultRoute.join(' ')}]`;
	const lines = [
		paint(style, '1', `Attachment ${n}: ${a.ifname} <- ${a.network}`) +
			` (${a.origin}${kind}${route}; cniVersion ${a.cniVersion})`,
	];
	if (a.device !== undefined)
		lines.push(`  device ${a.device.deviceId} (${a.device.resourceName}, from ${a.device.source})`);
	const rows = [['#', 'TYPE', 'RUNS AS', 'VERSIONS']];
	for (const p of a.plugins) rows.push([String(p.index), p.type, runsAs(p), versions(p)]);
	lines.push(...columns(rows, '  '));
	for (const p of a.plugins) {
		lines.push(
			`  ${p.index}. ${p.type}${p.prevResultFrom === null ? '' : ` (prevResult from ${p.prevResultFrom})`}`,
		);
		lines.push(`     stdin: ${p.stdin}`);
		lines.push(
			`     env:   ${Object.entries(p.env)
				.map(([k, v]) => `${k}=${v}`)
				.join(' ')}`,
		);
	}
	return lines;
}

function simulationBlock(sim: Simulation, style: Style): string[] {
	const lines = [paint(style, '1', 'Simulation (in-memory netns; external plugins stood in for)')];
	for (const step of sim.steps) {
		const how = step.runsAs === 'builtin' ? 'built-in' : 'opaque stand-in';
		lines.push(`  ${step.ifname} ${step.network} ${step.index}. ${step.type} (${how})`);
		lines.push(`     stdin:  ${step.stdin}`);
		lines.push(
			step.error === null
				? `     result: ${JSON.stringify(step.result)}`
				: `     ${paint(style, '1;31', 'error')}:  ${step.error}`,
		);
	}
	lines.push(...viewBlock(sim.view), ...networkStatusBlock(sim.networkStatus));
	return lines;
}

function viewBlock(v: NetView): string[] {
	const lines: string[] = [];
	lines.push('  Links:');
	lines.push(
		...columns(
			v.links.map((l) => [
				l.name,
				l.kind ?? '-',
				l.up ? 'up' : 'down',
				l.master === null ? '' : `master ${l.master}`,
				l.vlan === null ? '' : `vlan ${l.vlan}`,
			]),
			'    ',
		),
	);
	lines.push('  Addresses:');
	lines.push(
		...columns(
			v.addresses.map((a) => [a.dev, a.cidr]),
			'    ',
		),
	);
	lines.push('  Routes:');
	lines.push(
		...columns(
			v.routes.map((r) => [
				`table ${r.table}`,
				r.type === 'unicast' ? r.dst : `${r.type} ${r.dst}`,
				r.gateway === null ? '' : `via ${r.gateway}`,
				r.dev === null ? '' : `dev ${r.dev}`,
			]),
			'    ',
		),
	);
	lines.push('  VRFs:');
	if (v.vrfs.length === 0) lines.push('    (none)');
	for (const vrf of v.vrfs)
		lines.push(`    ${vrf.name} table ${vrf.table}: ${vrf.ports.join(' ') || '(no ports)'}`);
	return lines;
}

/** The network-status ADD would write (shown, never written), one network per line. */
function networkStatusBlock(status: readonly unknown[] | null): string[] {
	if (status === null) return [];
	return [
		'  Network status (would be written to the pod):',
		...status.map((s) => `    ${JSON.stringify(s)}`),
	];
}

function executionBlock(run: Execution, style: Style): string[] {
	const made = run.netnsCreated ? 'made for the run, ' : '';
	const lines = [paint(style, '1', `Execution in ${run.netns} (${made}container ${run.containerId})`)];
	for (const step of run.steps) {
		const how = step.runsAs === 'builtin' ? 'built-in' : (step.path ?? '');
		const where = step.network === '' ? '' : ` ${step.ifname} ${step.network}`;
		lines.push(`  ${step.command}${where} ${step.type} (${how}) ${step.durationMs} ms`);
		lines.push(`     stdin:  ${step.stdin}`);
		if (step.stdout !== '') lines.push(`     stdout: ${step.stdout.trimEnd()}`);
		if (step.stderr !== '') lines.push(`     stderr: ${step.stderr.trimEnd()}`);
		if (step.error !== null) lines.push(`     ${paint(style, '1;31', 'error')}:  ${step.error}`);
	}
	if (run.view !== null) lines.push('  After ADD:', ...viewBlock(run.view).map((l) => `  ${l}`));
	lines.push(...networkStatusBlock(run.networkStatus));
	lines.push(
		run.leftovers.length === 0
			? paint(style, '32', `  After DEL: nothing left behind${run.netnsCreated ? ', netns deleted' : ''}.`)
			: `  After DEL, left behind: ${run.leftovers.join('; ')}`,
	);
	if (run.kept.length > 0)
		lines.push(`  Kept (CNI never deletes the bridges its plugins create): ${run.kept.join('; ')}`);
	return lines;
}

/** The table a terminal shows. */
export function renderTable(report: DryRunReport, style: Style): string {
	const lines: string[] = [];
	if (report.pod !== null) lines.push(`Pod ${report.pod}: ADD dry run`);
	else lines.push(report.mode === 'pod' ? 'Pod dry run' : 'Network dry run');
	for (const [i, a] of report.attachments.entries()) {
		lines.push('');
		lines.push(...attachmentBlock(a, i + 1, style));
	}
	if (report.simulation !== null) lines.push('', ...simulationBlock(report.simulation, style));
	if (report.execution !== null) lines.push('', ...executionBlock(report.execution, style));
	lines.push('');
	if (report.findings.length === 0) lines.push(paint(style, '32', 'No findings: ADD would run as shown.'));
	else {
		lines.push(`Findings (${report.findings.length}):`);
		for (const f of report.findings) lines.push(`  ${findingLine(f, style)}`);
	}
	return `${lines.join('\n')}\n`;
}

/** The `--output json` document. */
export function renderJson(report: DryRunReport): string {
	return `${JSON.stringify(report, null, 2)}\n`;
}

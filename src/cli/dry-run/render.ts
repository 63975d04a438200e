/**
 * Renders a dry-run report: a readable table (ANSI colour only when asked, i.e. on a TTY), or the
 * JSON document whose schema README.md documents (`schemaVersion` 1).
 */
import type {AttachmentPlan, DryRunReport, Finding, PluginPlan} from './plan.ts';

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
	const where =
		f.network === undefined ? '' : ` [${f.network}${f.plugin === undefined ? '' : ` plugin ${f.plugin}`}]`;
	return `${label}${where}: ${f.message}${f.details === undefined ? '' : ` (${f.details})`}`;
}

function attachmentBlock(a: AttachmentPlan, n: number, style: Style): string[] {
	const kind = a.isClusterNetwork ? ', cluster network' : '';
	const route = a.defaultRoute === null ? '' : `, default-route [${a.defaultRoute.join(' ')}]`;
	const lines = [
		paint(style, '1', `Attachment ${n}: ${a.ifname} <- ${a.network}`) +
			` (${a.origin}${kind}${route}; cniVersion ${a.cniVersion})`,
	];
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

/** The table a terminal shows. */
export function renderTable(report: DryRunReport, style: Style): string {
	const lines: string[] = [];
	lines.push(report.pod === null ? 'Network dry run' : `Pod ${report.pod}: ADD dry run`);
	for (const [i, a] of report.attachments.entries()) {
		lines.push('');
		lines.push(...attachmentBlock(a, i + 1, style));
	}
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

/**
 * The YAML of a published seed (../shared/seeds/*.txt: a web page as text, prose around YAML), cut
 * out deterministically and without editing it:
 * - a block starts at a line whose text begins with `apiVersion:`; its indentation is the block's;
 * - it goes on over blank lines and lines indented deeper than the block, and over lines at the
 *   block's indentation that are YAML structure: a `key:` (a key without spaces, quoted or not),
 *   a `- ` item, a comment, or a document marker (`---`, `...`);
 * - any other line (prose, a shell prompt, a less indented line) ends it;
 * - the block is de-indented by its indentation and its trailing blank lines dropped.
 * A seed's blocks joined with `---` make one multi-document file, as `kubectl apply -f` of the
 * files the seed tells the reader to create.
 */

const YAML_LINE = /^(---|\.\.\.)\s*$|^- |^#|^["']?[\w./-]+["']?:(\s|$)/;

/** The YAML blocks of a seed's text, each de-indented. */
export function seedYamlBlocks(text: string): string[] {
	const lines = text.split('\n');
	const blocks: string[] = [];
	let i = 0;
	while (i < lines.length) {
		const start = /^( *)apiVersion:/.exec(lines[i] ?? '');
		if (start === null) {
			i++;
			continue;
		}
		const indent = start[1]?.length ?? 0;
		const block: string[] = [];
		for (; i < lines.length; i++) {
			const line = lines[i] ?? '';
			const depth = line.length - line.trimStart().length;
			const ok =
				line.trim() === '' || depth > indent || (depth === indent && YAML_LINE.test(line.slice(indent)));
			if (!ok) break;
			block.push(line.slice(Math.min(indent, depth)));
		}
		while (block.length > 0 && (block.at(-1) ?? '').trim() === '') block.pop();
		blocks.push(block.join('\n'));
	}
	return blocks;
}

/** A seed's YAML as one multi-document file. */
export function seedYaml(text: string): string {
	return `${seedYamlBlocks(text).join('\n---\n')}\n`;
}

/** One line of `plexus doctor`'s report: what was checked, how it went, and what to do about it. */
export interface Check {
	check: string;
	status: 'ok' | 'problem' | 'warning';
	detail: string;
	/** What to do about it (problems and warnings). */
	fix?: string;
}

// Markdown building blocks for the plan. Values go into code spans and fences: GitHub would
// otherwise take a placeholder such as <instance dev-etcd-0 private IP> for an HTML tag and hide it.

/** An inline code span that survives backticks and pipes inside the text (table cells). */
export function code(text: string): string {
    const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
    const fence = "`".repeat(longestRun + 1);
    const padded = text.startsWith("`") || text.endsWith("`") ? ` ${text} ` : text;
    return `${fence}${padded.replace(/\|/g, "\\|")}${fence}`;
}

export function fenced(language: string, text: string): string {
    const longestRun = Math.max(2, ...(text.match(/`{3,}/g) ?? []).map((run) => run.length));
    const fence = "`".repeat(longestRun + 1);
    return `${fence}${language}\n${text.endsWith("\n") ? text : `${text}\n`}${fence}`;
}

export function table(headers: string[], rows: string[][]): string {
    return [
        `| ${headers.join(" | ")} |`,
        `|${headers.map(() => "---").join("|")}|`,
        ...rows.map((row) => `| ${row.join(" | ")} |`),
    ].join("\n");
}

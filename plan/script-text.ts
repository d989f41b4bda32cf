// Reads back what a rendered script bundle (core/shell.ts renderBundle: settings, files, the text
// of host/*.sh) will do on a host: its description, its settings block and the files it writes
// with write_host_file / write_if_changed. Only the script's own top level counts: a heredoc body
// (a file's content, which may itself be a script) is skipped, so a nested script's settings
// are not mistaken for the outer one's.

export interface WrittenFile {
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly content: string;
}

export interface ScriptSummary {
    /** The header comment lines after the shebang, without "# ". */
    readonly description: string[];
    /** Top-level `NAME='value'` assignments. */
    readonly settings: Record<string, string>;
    readonly files: WrittenFile[];
}

const HEREDOC_START = /(?<!<)<<(?!<)-?'?([A-Za-z_][A-Za-z0-9_]*)'?/;
const WRITE = /^\s*(?:if\s+)?write_(?:if_changed|host_file)\s+(\S+)\s+(\S+)\s+(\S+)\s+<</;
const ASSIGNMENT = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/;

function header(lines: string[]): string[] {
    const start = lines[0]?.startsWith("#!") ? 1 : 0;
    const end = lines.findIndex((line, i) => i >= start && !line.startsWith("#"));
    return lines.slice(start, end < 0 ? lines.length : end).map((line) => line.replace(/^# ?/, ""));
}

/** `"$UNIT_FILE"` -> the value of UNIT_FILE; a literal path stays as it is. */
function resolvePath(word: string, settings: Record<string, string>): string {
    const [, variable] = /^"?\$\{?([A-Z_][A-Z0-9_]*)\}?"?$/.exec(word) ?? [];
    return variable !== undefined ? (settings[variable] ?? word) : word.replace(/^"(.*)"$/, "$1");
}

export function summarizeScript(script: string): ScriptSummary {
    const lines = script.split("\n");
    const settings: Record<string, string> = {};
    const files: WrittenFile[] = [];
    // Lines up to this index are a heredoc's body or its delimiter, not the script's own.
    let skipThrough = -1;
    for (const [i, line] of lines.entries()) {
        if (i <= skipThrough) {
            continue;
        }
        const [, name, value] = ASSIGNMENT.exec(line) ?? [];
        if (name !== undefined && value !== undefined) {
            settings[name] = value;
        }
        const [, delimiter] = HEREDOC_START.exec(line) ?? [];
        if (delimiter === undefined) {
            continue;
        }
        const end = lines.findIndex((other, j) => j > i && other === delimiter);
        const bodyEnd = end < 0 ? lines.length : end;
        const [, target, mode, owner] = WRITE.exec(line) ?? [];
        if (target !== undefined && mode !== undefined && owner !== undefined) {
            const content = lines.slice(i + 1, bodyEnd).join("\n");
            files.push({ path: resolvePath(target, settings), mode, owner, content: `${content}\n` });
        }
        skipThrough = bodyEnd;
    }
    return { description: header(lines), settings, files };
}

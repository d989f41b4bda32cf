// Building blocks of the rendered bash scripts: quoting, heredocs and the shared helpers
// every script starts with, so each script reads on its own when opened on a host.

/** A single-quoted shell word: safe for any value. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A quoted heredoc whose delimiter cannot occur in the content. */
export function heredoc(content: string, tag = "ETCD_AWS_EOF"): string {
    let delimiter = tag;
    while (content.split("\n").includes(delimiter)) {
        delimiter += "_";
    }
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return `<<'${delimiter}'\n${body}${delimiter}`;
}

/** `NAME='value'` assignments, one per line, for a script's settings block. */
export function assignments(values: Readonly<Record<string, string | number>>): string {
    return Object.entries(values)
        .map(([name, value]) => `${name}=${shellQuote(String(value))}`)
        .join("\n");
}

/**
 * Start of every script: strict mode, a log function tagged with the script's purpose, and
 * `write_if_changed` (install stdin at a path with mode and owner; exit status 0 when it changed
 * the file, 1 when the file already had that content), which makes re-runs change nothing.
 */
export function scriptPrelude(purpose: string, description: readonly string[]): string {
    return [
        "#!/usr/bin/env bash",
        ...description.map((line) => `# ${line}`),
        "# Rendered by etcd-aws; safe to run again: each step checks before it changes anything.",
        "set -euo pipefail",
        "",
        `log() { printf '%s etcd-${purpose}: %s\\n' "$(date -u +%H:%M:%S)" "$*" >&2; }`,
        "",
        "write_if_changed() { # path mode owner:group < content",
        "    # Runs as an if condition, where bash ignores set -e: each step exits on failure itself.",
        '    local path=$1 mode=$2 owner=$3 tmp',
        '    tmp=$(mktemp "${path}.XXXXXX") || exit 1',
        '    cat >"$tmp" || exit 1',
        '    if [ -f "$path" ] && cmp -s "$tmp" "$path"; then',
        '        rm -f "$tmp"',
        '        chmod "$mode" "$path" || exit 1',
        '        chown "$owner" "$path" || exit 1',
        "        return 1",
        "    fi",
        '    chmod "$mode" "$tmp" || exit 1',
        '    chown "$owner" "$tmp" || exit 1',
        '    mv -f "$tmp" "$path" || exit 1',
        '    log "wrote $path"',
        "}",
        "",
    ].join("\n");
}

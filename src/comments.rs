//! Proto comments from `SourceCodeInfo`, cleaned into doc lines.

use std::collections::HashMap;

use rust_rpc::wkt::FileDescriptorProto;

/// The comments of one file, by `SourceCodeInfo` path.
pub struct Comments {
    by_path: HashMap<Vec<i32>, String>,
}

impl Comments {
    /// Indexes the leading and trailing comments of `file`.
    pub fn new(file: &FileDescriptorProto) -> Self {
        let mut by_path = HashMap::new();
        if let Some(info) = &file.source_code_info {
            for loc in &info.location {
                let mut text = String::new();
                if let Some(c) = &loc.leading_comments {
                    text.push_str(c);
                }
                if let Some(c) = &loc.trailing_comments {
                    if !text.is_empty() && !text.ends_with("\n\n") {
                        text.push('\n');
                    }
                    text.push_str(c);
                }
                if !text.trim().is_empty() {
                    by_path.entry(loc.path.clone()).or_insert(text);
                }
            }
        }
        Self { by_path }
    }

    /// Doc lines for the element at `path`, ready for `#[doc]`.
    pub fn docs(&self, path: &[i32]) -> Vec<String> {
        self.by_path.get(path).map(|t| clean(t)).unwrap_or_default()
    }
}

/// Turns comment text into rustdoc lines: the common indent removed,
/// brackets escaped (so they never become broken intra-doc links) except in
/// code spans and Markdown links, bare URLs put in `<...>` (rustdoc warns
/// about bare ones), and any indented or fenced block marked `text` so that
/// it never runs as a doctest.
pub fn clean(text: &str) -> Vec<String> {
    let mut out = clean_blocks(text);
    // Prose runs are escaped as a whole: a Markdown link may span lines.
    let mut code = false;
    let mut run: Vec<usize> = Vec::new();
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (idx, line) in out.iter().enumerate() {
        if line.starts_with("```") {
            code = !code;
            runs.push(std::mem::take(&mut run));
        } else if !code {
            run.push(idx);
        }
    }
    runs.push(run);
    for run in runs.into_iter().filter(|r| !r.is_empty()) {
        let joined = run
            .iter()
            .map(|&idx| out[idx].as_str())
            .collect::<Vec<_>>()
            .join("\n");
        for (&idx, line) in run.iter().zip(escape_prose(&joined).split('\n')) {
            out[idx] = line.to_owned();
        }
    }
    out
}

/// Escapes `[` and `]` outside code spans and `[text](url)` links, and wraps
/// bare `http(s)://` URLs in `<...>`. Keeps newlines where they are.
fn escape_prose(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_code = false;
    while i < chars.len() {
        let c = chars[i];
        // A backtick opens a code span only if another one closes it.
        if c == '`' && (in_code || chars[i + 1..].contains(&'`')) {
            in_code = !in_code;
            out.push(c);
            i += 1;
            continue;
        }
        if in_code {
            out.push(c);
            i += 1;
            continue;
        }
        if c == '[' {
            if let Some(end) = markdown_link_end(&chars, i) {
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
        }
        if c == '[' || c == ']' {
            out.push('\\');
            out.push(c);
            i += 1;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 8)].iter().collect();
        let after_angle = i > 0 && chars[i - 1] == '<';
        if !after_angle && (rest.starts_with("http://") || rest.starts_with("https://")) {
            let mut end = i;
            while end < chars.len()
                && !chars[end].is_whitespace()
                && !matches!(chars[end], '<' | '>' | '`')
            {
                end += 1;
            }
            // Leave trailing punctuation (and unbalanced closing parens) outside.
            while let Some(&last) = chars[i..end].last() {
                let parens = chars[i..end].iter().filter(|&&c| c == '(').count();
                let closes = chars[i..end].iter().filter(|&&c| c == ')').count();
                if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"')
                    || (last == ')' && closes > parens)
                {
                    end -= 1;
                } else {
                    break;
                }
            }
            out.push('<');
            out.extend(&chars[i..end]);
            out.push('>');
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// If a Markdown link `[text](target)` starts at `start`, the index just past it.
fn markdown_link_end(chars: &[char], start: usize) -> Option<usize> {
    let close = start
        + 1
        + chars[start + 1..]
            .iter()
            .position(|&c| c == ']' || c == '[')?;
    if chars[close] != ']' || chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let target_end = close
        + 2
        + chars[close + 2..]
            .iter()
            .position(|&c| c == ')' || c.is_whitespace())?;
    (chars[target_end] == ')' && target_end > close + 2).then_some(target_end + 1)
}

fn clean_blocks(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut in_indented = false;
    let mut prev_blank = true;
    let mut list_indent: Option<usize> = None;
    for raw in &lines {
        let line = raw.get(indent..).unwrap_or("").trim_end();
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            if in_fence {
                out.push("```".to_owned());
            } else {
                out.push("```text".to_owned());
            }
            in_fence = !in_fence;
            prev_blank = false;
            continue;
        }
        if in_fence {
            out.push(line.to_owned());
            continue;
        }
        let is_indented = line.starts_with("    ") || line.starts_with('\t');
        if is_indented && !in_indented && prev_blank {
            out.push("```text".to_owned());
            in_indented = true;
        } else if in_indented && !is_indented && !line.is_empty() {
            close_block(&mut out);
            in_indented = false;
        }
        if in_indented {
            out.push(line.to_owned());
        } else {
            // A continuation line of a list item must be indented to the
            // item's text, or rustdoc (and clippy) read it as a lazy paragraph.
            let lead = line.len() - trimmed.len();
            match (list_marker(trimmed), list_indent) {
                (Some(width), _) => {
                    list_indent = Some(lead + width);
                    out.push(line.to_owned());
                }
                (None, Some(width)) if !line.is_empty() && lead < width => {
                    out.push(format!("{}{trimmed}", " ".repeat(width)));
                }
                _ => out.push(line.to_owned()),
            }
            if line.is_empty() {
                list_indent = None;
            }
        }
        prev_blank = line.is_empty();
    }
    if in_indented {
        close_block(&mut out);
    }
    if in_fence {
        out.push("```".to_owned());
    }
    out
}

/// Width of a list marker (`- `, `* `, `+ `, `1. `) starting `line`, if any.
fn list_marker(line: &str) -> Option<usize> {
    if line.starts_with("- ") || line.starts_with("* ") || line.starts_with("+ ") {
        return Some(2);
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(". ") {
        Some(digits + 2)
    } else {
        None
    }
}

fn close_block(out: &mut Vec<String>) {
    // Keep a blank line that ended the block after the closing fence.
    let trailing_blank = out.last().is_some_and(String::is_empty);
    if trailing_blank {
        out.pop();
    }
    out.push("```".to_owned());
    if trailing_blank {
        out.push(String::new());
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn plain_lines_keep_relative_indent_and_escape_brackets() {
        assert_eq!(
            clean(" Hello [world].\n Second line.\n"),
            ["Hello \\[world\\].", "Second line."]
        );
    }

    #[test]
    fn indented_blocks_become_text_blocks() {
        assert_eq!(
            clean(" Example:\n\n     foo(1)\n     bar\n\n After.\n"),
            [
                "Example:",
                "",
                "```text",
                "    foo(1)",
                "    bar",
                "```",
                "",
                "After."
            ]
        );
    }

    #[test]
    fn links_code_spans_and_urls() {
        assert_eq!(
            clean(
                " See [the\n spec](http://x.org/a) and `v[0]`, [1, 2] or\n https://example.com/p_(x)/q).\n"
            ),
            [
                "See [the",
                "spec](http://x.org/a) and `v[0]`, \\[1, 2\\] or",
                "<https://example.com/p_(x)/q>)."
            ]
        );
        assert_eq!(
            clean("Already <https://a.b/c> linked, stray ` [x]"),
            ["Already <https://a.b/c> linked, stray ` \\[x\\]"]
        );
    }

    #[test]
    fn list_continuations_are_indented() {
        assert_eq!(
            clean("- MUST treat it as\ndocumented.\n12. next\nline\n\nAfter.\n"),
            [
                "- MUST treat it as",
                "  documented.",
                "12. next",
                "    line",
                "",
                "After."
            ]
        );
    }

    #[test]
    fn fences_get_a_text_language() {
        assert_eq!(clean("```\nx = 1\n```"), ["```text", "x = 1", "```"]);
    }
}

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
/// about bare ones), a `<` that would open an HTML tag never closed
/// (`<ip address>`) escaped, any indented or fenced block marked `text` so
/// that it never runs as a doctest, and `<pre>` blocks left as written.
pub fn clean(text: &str) -> Vec<String> {
    let lines = clean_blocks(text);
    // Prose runs are escaped as a whole: a Markdown link may span lines.
    let mut run: Vec<usize> = Vec::new();
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (idx, line) in lines.iter().enumerate() {
        if line.prose {
            run.push(idx);
        } else {
            runs.push(std::mem::take(&mut run));
        }
    }
    runs.push(run);
    let mut out: Vec<String> = lines.into_iter().map(|l| l.text).collect();
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
        if c == '<' && closes_void_element(&chars, i) {
            // `</br>`: HTML reads it as `<br>`, rustdoc warns about it.
            out.push('<');
            i += 2;
            continue;
        }
        if c == '<' && unclosed_tag(&chars, i) {
            out.push_str("\\<");
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

/// HTML elements that have no closing tag.
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// Whether a closing tag of a void element (`</br>`) starts at `start`.
fn closes_void_element(chars: &[char], start: usize) -> bool {
    if chars.get(start + 1) != Some(&'/') {
        return false;
    }
    let name: String = chars[start + 2..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let after = chars[start + 2 + name.len()..]
        .iter()
        .find(|c| !c.is_whitespace());
    VOID_ELEMENTS.contains(&name.as_str()) && after == Some(&'>')
}

/// Whether the `<` at `start` opens an HTML tag (as Markdown reads it: a
/// name, then a space, `/` or `>`) that nothing in `chars` closes, or closes
/// one never opened: rustdoc warns about both (`invalid_html_tags`), and
/// what the comment meant is the text, such as `"user:<owner email>"`.
fn unclosed_tag(chars: &[char], start: usize) -> bool {
    let closing = chars.get(start + 1) == Some(&'/');
    let name_start = start + 1 + usize::from(closing);
    let name_len = chars[name_start..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
        .count();
    let name: String = chars[name_start..name_start + name_len]
        .iter()
        .collect::<String>()
        .to_ascii_lowercase();
    let is_tag = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && chars
            .get(name_start + name_len)
            .is_none_or(|c| c.is_whitespace() || matches!(c, '/' | '>'));
    if !is_tag || VOID_ELEMENTS.contains(&name.as_str()) {
        return false;
    }
    let text: String = chars.iter().collect::<String>().to_ascii_lowercase();
    let byte = |at: usize| chars[..at].iter().map(|c| c.len_utf8()).sum::<usize>();
    let opens = |t: &str| {
        t.match_indices(&format!("<{name}")).any(|(i, m)| {
            t[i + m.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || matches!(c, '/' | '>'))
        })
    };
    if closing {
        !opens(&text[..byte(start)])
    } else {
        let rest = &text[byte(start)..];
        let self_closed = rest.find('>').is_some_and(|end| rest[..end].ends_with('/'));
        !self_closed && !rest.contains(&format!("</{name}"))
    }
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

/// A doc line, and whether it is prose (to be escaped) rather than a code
/// block, a fence, or raw HTML.
struct Line {
    text: String,
    prose: bool,
}

/// A `<pre>` that starts a line opens an HTML block (CommonMark's first
/// kind), which runs to the line that holds `</pre>`: Markdown does not
/// read what is in it, so neither list continuations nor escapes apply.
fn opens_pre(trimmed: &str) -> bool {
    trimmed
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("<pre"))
        && trimmed[4..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '>')
}

fn clean_blocks(text: &str) -> Vec<Line> {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<Line> = Vec::new();
    let code = |text: &str| Line {
        text: text.to_owned(),
        prose: false,
    };
    let mut in_fence = false;
    let mut in_indented = false;
    let mut in_pre = false;
    let mut prev_blank = true;
    let mut list_indent: Option<usize> = None;
    for raw in &lines {
        let line = raw.get(indent..).unwrap_or("").trim_end();
        let trimmed = line.trim_start();
        if in_pre || (!in_fence && !in_indented && opens_pre(trimmed)) {
            in_pre = !line.to_ascii_lowercase().contains("</pre>");
            out.push(code(line));
            list_indent = None;
            prev_blank = false;
            continue;
        }
        if trimmed.starts_with("```") {
            out.push(code(if in_fence { "```" } else { "```text" }));
            in_fence = !in_fence;
            prev_blank = false;
            continue;
        }
        if in_fence {
            out.push(code(line));
            continue;
        }
        let is_indented = line.starts_with("    ") || line.starts_with('\t');
        if is_indented && !in_indented && prev_blank {
            out.push(code("```text"));
            in_indented = true;
            // The fence, at the left margin, ends any list.
            list_indent = None;
        } else if in_indented && !is_indented && !line.is_empty() {
            close_block(&mut out);
            in_indented = false;
        }
        if in_indented {
            out.push(code(line));
        } else {
            let text = if line.is_empty() {
                String::new()
            } else {
                list_line(line, prev_blank, &mut list_indent)
            };
            out.push(Line { text, prose: true });
        }
        prev_blank = line.is_empty();
    }
    if in_indented {
        close_block(&mut out);
    }
    if in_fence {
        out.push(code("```"));
    }
    out
}

/// `line` (not blank), indented as a line of the list item whose text
/// starts at column `list_indent`, if it is in one; updates `list_indent`.
/// A continuation line goes to that column: less indented, rustdoc and
/// clippy read it as a lazy paragraph (`doc_lazy_continuation`); more,
/// clippy warns (`doc_overindented_list_items`), and in a paragraph the
/// extra indent means nothing.
fn list_line(line: &str, after_blank: bool, list_indent: &mut Option<usize>) -> String {
    let trimmed = line.trim_start();
    let lead = line.len() - trimmed.len();
    let at = |column: usize| format!("{}{trimmed}", " ".repeat(column));
    match (list_marker(trimmed), *list_indent) {
        // Four or more columns past the text of the item it is in, an item
        // is no item in Markdown but text of that item; brought in, it is
        // the nested item it was meant as.
        (Some(width), Some(inner)) if lead >= inner + 4 => {
            *list_indent = Some(inner + width);
            at(inner)
        }
        (Some(width), _) => {
            *list_indent = Some(lead + width);
            line.to_owned()
        }
        // After a blank line, text left of the item's ends the list; text
        // at or right of it is a paragraph of the item.
        (None, Some(inner)) if after_blank && lead < inner => {
            *list_indent = None;
            line.to_owned()
        }
        (None, Some(inner)) if lead != inner => at(inner),
        _ => line.to_owned(),
    }
}

/// Width of a list marker (`- `, `* `, `+ `, `1. `, `1) `) starting `line`, if
/// any, with the spaces after it: the column the item's text starts at
/// (`+   text` -> 4), or one past the marker when five or more spaces
/// follow (CommonMark: the text is then an indented code block).
fn list_marker(line: &str) -> Option<usize> {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let marker = if line.starts_with(['-', '*', '+']) {
        1
    } else if digits > 0 && line[digits..].starts_with(['.', ')']) {
        digits + 1
    } else {
        return None;
    };
    let spaces = line[marker..].chars().take_while(|c| *c == ' ').count();
    match spaces {
        0 => None,
        1..=4 => Some(marker + spaces),
        _ => Some(marker + 1),
    }
}

fn close_block(out: &mut Vec<Line>) {
    // Keep a blank line that ended the block after the closing fence.
    let trailing_blank = out.last().is_some_and(|l| l.text.is_empty());
    if trailing_blank {
        out.pop();
    }
    out.push(Line {
        text: "```".to_owned(),
        prose: false,
    });
    if trailing_blank {
        out.push(Line {
            text: String::new(),
            prose: true,
        });
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
    fn pre_blocks_are_left_as_written() {
        // googleapis' documentation.proto: a list inside <pre> is no list,
        // and the lines after it are no continuation (indented, they would
        // be a Rust code block).
        assert_eq!(
            clean(
                "Declares a page:\n<pre><code>pages:\n  - name: Overview\n    content: [x]\n</code></pre>\nNote: you cannot [do] both.\n"
            ),
            [
                "Declares a page:",
                "<pre><code>pages:",
                "  - name: Overview",
                "    content: [x]",
                "</code></pre>",
                "Note: you cannot \\[do\\] both.",
            ]
        );
    }

    #[test]
    fn unclosed_html_tags_are_escaped() {
        // googleapis' error_details.proto and usage.proto.
        assert_eq!(
            clean(
                "For example, \"clientip:<ip address of client>\" or \"project:<Google\ndeveloper project id>\".\n"
            ),
            [
                "For example, \"clientip:\\<ip address of client>\" or \"project:\\<Google",
                "developer project id>\"."
            ]
        );
        assert_eq!(
            clean("Of the form <service.name>/<requirement-id>; a < b, `<c>`"),
            ["Of the form <service.name>/\\<requirement-id>; a < b, `<c>`"]
        );
        // Real tags stay: closed ones, void ones, autolinks.
        assert_eq!(
            clean("<b>bold</b>, a<br>b, <img src=\"x\"/>, <https://a.b/c>, <p>one\ntwo</p>"),
            [
                "<b>bold</b>, a<br>b, <img src=\"x\"/>, <https://a.b/c>, <p>one",
                "two</p>"
            ]
        );
        // A closing tag never opened; one of a void element, as the
        // element (googleapis' cloud/scheduler/v1/target.proto).
        assert_eq!(clean("stray </i> end"), ["stray \\</i> end"]);
        assert_eq!(
            clean("`host = [name]`</br>\n`| [service]`</BR >"),
            ["`host = [name]`<br>", "`| [service]`<BR >"]
        );
    }

    #[test]
    fn list_continuations_indented_too_far_are_brought_back() {
        // googleapis' google/monitoring/v3/alert_service.proto: the text
        // of `+   item` starts at column 4.
        assert_eq!(
            clean("+   The new policy\n    policy. This\n+   Conditions\n  the supplied\n"),
            [
                "+   The new policy",
                "    policy. This",
                "+   Conditions",
                "    the supplied"
            ]
        );
        // googleapis' google/api/metric.proto.
        assert_eq!(
            clean(
                "* `/`    division. For examples,\n         `kBy/{email}` or `MiBy/10ms`.\n* `1` a unit\n   of 1.\n  * nested\n\n      code after a blank line\n"
            ),
            [
                "* `/`    division. For examples,",
                "  `kBy/{email}` or `MiBy/10ms`.",
                "* `1` a unit",
                "  of 1.",
                "  * nested",
                "",
                "```text",
                "      code after a blank line",
                "```"
            ]
        );
    }

    #[test]
    fn lists_as_googleapis_writes_them() {
        // dialogflow/cx/v3 and osconfig/v1: `1)` items, and a list in one.
        assert_eq!(
            clean(
                "Warning:\n1) This flag only affects streaming API.\nand returned once.\n2) Changes to one of\nthe following fields:\n   - instance_filter\n   - os_policies\n"
            ),
            [
                "Warning:",
                "1) This flag only affects streaming API.",
                "   and returned once.",
                "2) Changes to one of",
                "   the following fields:",
                "   - instance_filter",
                "   - os_policies"
            ]
        );
        // discoveryengine/v1 and securitycenter/v2: a paragraph of an item,
        // after a blank line; text left of the item ends the list.
        assert_eq!(
            clean(
                "* `user_country_code`: string.\n  For example, `au`\n\n   For available codes see\n   Codes.\n\n  Examples:\n    `event_time = 1`\n\nAfter.\n"
            ),
            [
                "* `user_country_code`: string.",
                "  For example, `au`",
                "",
                "  For available codes see",
                "  Codes.",
                "",
                "  Examples:",
                "  `event_time = 1`",
                "",
                "After."
            ]
        );
        // spanner/admin/database/v1: an item too deep to be one, brought in
        // as the nested item it was meant as.
        assert_eq!(
            clean(
                "  * `database:prod`\n         - The database's name.\n  * `(name:howl)`\n         - The backup name and\n           of the backup.\n"
            ),
            [
                "* `database:prod`",
                "  - The database's name.",
                "* `(name:howl)`",
                "  - The backup name and",
                "    of the backup."
            ]
        );
    }

    #[test]
    fn fences_get_a_text_language() {
        assert_eq!(clean("```\nx = 1\n```"), ["```text", "x = 1", "```"]);
    }
}

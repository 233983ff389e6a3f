//! Proto comments from `SourceCodeInfo`, cleaned into doc lines.

use std::collections::HashMap;

use prost_types::FileDescriptorProto;

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
/// brackets escaped (so they never become broken intra-doc links), and any
/// indented or fenced block marked `text` so that it never runs as a doctest.
pub fn clean(text: &str) -> Vec<String> {
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
            out.push(line.replace('[', "\\[").replace(']', "\\]"));
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
        assert_eq!(clean(" Hello [world].\n Second line.\n"), ["Hello \\[world\\].", "Second line."]);
    }

    #[test]
    fn indented_blocks_become_text_blocks() {
        assert_eq!(
            clean(" Example:\n\n     foo(1)\n     bar\n\n After.\n"),
            ["Example:", "", "```text", "    foo(1)", "    bar", "```", "", "After."]
        );
    }

    #[test]
    fn fences_get_a_text_language() {
        assert_eq!(clean("```\nx = 1\n```"), ["```text", "x = 1", "```"]);
    }
}

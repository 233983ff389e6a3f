//! Where two descriptors of one file differ, said briefly: for tests
//! that hold the pure front end to protoc's output (`tests/frontend.rs`,
//! `build-support/tests/real_protos.rs`).

/// Where `a` (the pure front end's descriptor) and `b` (protoc's) first
/// differ: the first location of their `SourceCodeInfo` that does, or the
/// lines around the first line of their debug forms that does.
pub fn where_they_differ(
    a: &rust_rpc::wkt::FileDescriptorProto,
    b: &rust_rpc::wkt::FileDescriptorProto,
) -> String {
    let (la, lb) = (
        a.source_code_info.clone().unwrap_or_default().location,
        b.source_code_info.clone().unwrap_or_default().location,
    );
    if la != lb {
        let i = la
            .iter()
            .zip(&lb)
            .position(|(x, y)| x != y)
            .unwrap_or(la.len().min(lb.len()));
        let show = |l: &[rust_rpc::wkt::source_code_info::Location]| {
            l.iter()
                .skip(i.saturating_sub(2))
                .take(4)
                .map(|l| {
                    format!(
                        "{:?} {:?} {:?} {:?} {:?}",
                        l.path,
                        l.span,
                        l.leading_comments,
                        l.trailing_comments,
                        l.leading_detached_comments
                    )
                })
                .collect::<Vec<_>>()
                .join("\n  ")
        };
        return format!(
            "source code info differs at location {i} (of {} and {}):\npure:\n  {}\nprotoc:\n  {}",
            la.len(),
            lb.len(),
            show(&la),
            show(&lb)
        );
    }
    let (x, y) = (format!("{a:#?}"), format!("{b:#?}"));
    let line = x
        .lines()
        .zip(y.lines())
        .position(|(p, q)| p != q)
        .unwrap_or(0);
    let around = |t: &str| {
        t.lines()
            .skip(line.saturating_sub(12))
            .take(16)
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "descriptors differ at line {line} of their debug form:\npure:\n{}\nprotoc:\n{}",
        around(&x),
        around(&y)
    )
}

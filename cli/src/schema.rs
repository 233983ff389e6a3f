//! Finding services, methods, messages and enums in a set of files, and
//! describing them in `.proto` syntax.

use std::fmt::Write;

use rust_rpc::transport::Code;
use rust_rpc::wkt::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    MethodDescriptorProto, ServiceDescriptorProto, field_descriptor_proto::Label,
    field_descriptor_proto::Type,
};

use crate::Failure;
use crate::source::qualified;

/// A method and what it takes and returns.
pub struct Method {
    /// `/pkg.Service/Method`.
    pub path: String,
    /// Full names, without the leading dot.
    pub input: String,
    pub output: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

/// Something a name can mean.
pub enum Symbol<'a> {
    Service(&'a ServiceDescriptorProto, String),
    Method(&'a MethodDescriptorProto, String),
    Message(&'a DescriptorProto, String),
    Enum(&'a EnumDescriptorProto, String),
}

/// The service named `name` (`pkg.Service`).
pub fn service<'a>(
    files: &'a [FileDescriptorProto],
    name: &str,
) -> Option<&'a ServiceDescriptorProto> {
    files.iter().find_map(|f| {
        f.service
            .iter()
            .find(|s| qualified(f.package(), s.name()) == name)
    })
}

/// Splits `pkg.Service/Method` or `pkg.Service.Method`.
pub fn split_method(name: &str) -> Option<(&str, &str)> {
    let name = name.trim_start_matches('/');
    name.rsplit_once('/').or_else(|| name.rsplit_once('.'))
}

/// The method `name` names, or a failure listing what there is.
pub fn method(files: &[FileDescriptorProto], name: &str) -> Result<Method, Failure> {
    let Some((service_name, method_name)) = split_method(name) else {
        return Err(Failure::new(
            Code::InvalidArgument,
            format!("{name:?} is not SERVICE/METHOD"),
        ));
    };
    let Some(service) = service(files, service_name) else {
        return Err(Failure::new(
            Code::NotFound,
            format!("no service {service_name}"),
        ));
    };
    let Some(m) = service.method.iter().find(|m| m.name() == method_name) else {
        let names: Vec<_> = service.method.iter().map(|m| m.name()).collect();
        return Err(Failure::new(
            Code::NotFound,
            format!(
                "no method {method_name} in service {service_name}; methods are: {}",
                names.join(", ")
            ),
        ));
    };
    Ok(Method {
        path: format!("/{service_name}/{method_name}"),
        input: m.input_type().trim_start_matches('.').to_owned(),
        output: m.output_type().trim_start_matches('.').to_owned(),
        client_streaming: m.client_streaming(),
        server_streaming: m.server_streaming(),
    })
}

/// What `name` (a full name; a method also as `pkg.Service/Method`) means.
pub fn find<'a>(files: &'a [FileDescriptorProto], name: &str) -> Option<Symbol<'a>> {
    let name = name.trim_start_matches('.');
    for f in files {
        for s in &f.service {
            let full = qualified(f.package(), s.name());
            if full == name {
                return Some(Symbol::Service(s, full));
            }
            for m in &s.method {
                if split_method(name) == Some((full.as_str(), m.name())) {
                    return Some(Symbol::Method(m, format!("{full}.{}", m.name())));
                }
            }
        }
        let prefix = f.package().to_owned();
        if let Some(found) = find_in(&f.message_type, &f.enum_type, &prefix, name) {
            return Some(found);
        }
    }
    None
}

fn find_in<'a>(
    messages: &'a [DescriptorProto],
    enums: &'a [EnumDescriptorProto],
    prefix: &str,
    name: &str,
) -> Option<Symbol<'a>> {
    for e in enums {
        let full = qualified(prefix, e.name());
        if full == name {
            return Some(Symbol::Enum(e, full));
        }
    }
    for m in messages {
        let full = qualified(prefix, m.name());
        if full == name {
            return Some(Symbol::Message(m, full));
        }
        if name.starts_with(&format!("{full}.")) {
            if let Some(found) = find_in(&m.nested_type, &m.enum_type, &full, name) {
                return Some(found);
            }
        }
    }
    None
}

/// `symbol` in `.proto` syntax.
pub fn describe(symbol: &Symbol<'_>) -> String {
    let mut out = String::new();
    match symbol {
        Symbol::Service(s, full) => {
            let _ = writeln!(out, "{full} is a service:");
            let _ = writeln!(out, "service {} {{", s.name());
            for m in &s.method {
                let _ = writeln!(out, "  {}", rpc(m));
            }
            out.push_str("}\n");
        }
        Symbol::Method(m, full) => {
            let _ = writeln!(out, "{full} is a method:");
            let _ = writeln!(out, "{}", rpc(m));
        }
        Symbol::Message(m, full) => {
            let _ = writeln!(out, "{full} is a message:");
            message(&mut out, m, 0);
        }
        Symbol::Enum(e, full) => {
            let _ = writeln!(out, "{full} is an enum:");
            enumeration(&mut out, e, 0);
        }
    }
    out
}

fn rpc(m: &MethodDescriptorProto) -> String {
    let stream = |on: bool| if on { "stream " } else { "" };
    format!(
        "rpc {}({}{}) returns ({}{});",
        m.name(),
        stream(m.client_streaming()),
        m.input_type(),
        stream(m.server_streaming()),
        m.output_type()
    )
}

fn message(out: &mut String, m: &DescriptorProto, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}message {} {{", m.name());
    let entries: Vec<&DescriptorProto> = m
        .nested_type
        .iter()
        .filter(|n| {
            n.options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false)
        })
        .collect();
    let mut oneofs_done = vec![false; m.oneof_decl.len()];
    for f in &m.field {
        let oneof = f
            .oneof_index
            .filter(|_| !f.proto3_optional())
            .and_then(|i| usize::try_from(i).ok());
        match oneof {
            Some(i) if i < oneofs_done.len() => {
                if oneofs_done[i] {
                    continue;
                }
                oneofs_done[i] = true;
                let _ = writeln!(out, "{pad}  oneof {} {{", m.oneof_decl[i].name());
                for member in m.field.iter().filter(|g| g.oneof_index == f.oneof_index) {
                    let _ = writeln!(out, "{pad}    {}", field(member, &entries, false));
                }
                let _ = writeln!(out, "{pad}  }}");
            }
            _ => {
                let _ = writeln!(out, "{pad}  {}", field(f, &entries, true));
            }
        }
    }
    for n in &m.nested_type {
        if !entries.iter().any(|e| std::ptr::eq(*e, n)) {
            message(out, n, depth + 1);
        }
    }
    for e in &m.enum_type {
        enumeration(out, e, depth + 1);
    }
    let _ = writeln!(out, "{pad}}}");
}

fn field(f: &FieldDescriptorProto, entries: &[&DescriptorProto], labeled: bool) -> String {
    let entry = entries.iter().find(|e| {
        f.type_name().rsplit('.').next() == Some(e.name()) && f.label() == Label::Repeated
    });
    let ty = match entry {
        Some(e) => {
            let kv: Vec<String> = e.field.iter().map(type_name).collect();
            format!("map<{}>", kv.join(", "))
        }
        None => type_name(f),
    };
    let label = match f.label() {
        _ if entry.is_some() || !labeled => "",
        Label::Repeated => "repeated ",
        Label::Required => "required ",
        _ if f.proto3_optional() => "optional ",
        _ => "",
    };
    format!("{label}{ty} {} = {};", f.name(), f.number())
}

fn type_name(f: &FieldDescriptorProto) -> String {
    let name = match f.r#type() {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        _ => return f.type_name().to_owned(),
    };
    name.to_owned()
}

fn enumeration(out: &mut String, e: &EnumDescriptorProto, depth: usize) {
    let pad = "  ".repeat(depth);
    let _ = writeln!(out, "{pad}enum {} {{", e.name());
    for v in &e.value {
        let _ = writeln!(out, "{pad}  {} = {};", v.name(), v.number());
    }
    let _ = writeln!(out, "{pad}}}");
}

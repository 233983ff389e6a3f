//! Generator options: `--rust-rpc_opt=key=value,...` in plugin mode.

use std::fmt;

/// Every option the generator takes.
#[derive(Clone, Debug)]
pub struct Options {
    /// `bytes=bytes`: `bytes` fields as `bytes::Bytes` (default `bytes=vec`).
    pub bytes_as_bytes: bool,
    /// `map=btree`: maps as `BTreeMap` (default `map=hash`).
    pub btree_map: bool,
    /// `client=false`: no service clients (default true).
    pub client: bool,
    /// `server=false`: no service server traits (default true).
    pub server: bool,
    /// `messages=false`: no message and enum types, only services (whose
    /// message types must then come from elsewhere: another generation into
    /// the same module, or `extern_path`) (default true).
    pub messages: bool,
    /// `text_formats=false`: no JSON mapping and no text format for messages
    /// and enums (default true).
    pub text_formats: bool,
    /// `runtime=PATH`: path of the runtime crate (default `::rust_rpc`).
    pub runtime: String,
    /// `extern_path=.proto.pkg=::rust::path`: types of a proto package (or
    /// message) that already exist in Rust. `.google.protobuf` maps to the
    /// runtime's well-known types unless `extern_path=.google.protobuf=`
    /// (empty) turns that off.
    pub extern_paths: Vec<(String, String)>,
    /// `type_attribute=.pkg.Type=#[attr]`: attributes for messages and enums
    /// whose full name starts with the path (`.` for all).
    pub type_attributes: Vec<(String, String)>,
    /// `field_attribute=.pkg.Type.field=#[attr]`: attributes for fields.
    pub field_attributes: Vec<(String, String)>,
    /// Map `.google.protobuf` to `<runtime>::wkt` (on unless `extern_path`
    /// names `.google.protobuf` itself).
    pub well_known_types: bool,
    /// `descriptors=true|false|source_info`: embed each file's descriptor
    /// (default `true`, without `SourceCodeInfo`).
    pub descriptors: Descriptors,
}

/// Whether and how generated code embeds the files' descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descriptors {
    /// No descriptors (the smallest code).
    Off,
    /// Each file's `FileDescriptorProto` without `SourceCodeInfo`.
    On,
    /// With `SourceCodeInfo` (comments and spans) kept.
    WithSourceInfo,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bytes_as_bytes: false,
            btree_map: false,
            client: true,
            server: true,
            messages: true,
            text_formats: true,
            runtime: "::rust_rpc".to_owned(),
            extern_paths: Vec::new(),
            type_attributes: Vec::new(),
            field_attributes: Vec::new(),
            well_known_types: true,
            descriptors: Descriptors::On,
        }
    }
}

/// A bad option: which one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError(pub String);

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits on `,` except where escaped as `\,`.
fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn check_proto_path(key: &str, path: &str) -> Result<(), OptionError> {
    let ok = path == "."
        || (path.starts_with('.')
            && path[1..].split('.').all(|seg| {
                !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }));
    if ok {
        Ok(())
    } else {
        Err(OptionError(format!(
            "option {key}: {path:?} is not a fully qualified proto name (like .pkg.Message)"
        )))
    }
}

fn check_rust_path(key: &str, path: &str) -> Result<(), OptionError> {
    match syn::parse_str::<syn::Path>(path) {
        Ok(_) => Ok(()),
        Err(e) => Err(OptionError(format!(
            "option {key}: {path:?} is not a Rust path: {e}"
        ))),
    }
}

fn check_attribute(key: &str, attr: &str) -> Result<(), OptionError> {
    use syn::parse::Parser;
    match syn::Attribute::parse_outer.parse_str(attr) {
        Ok(attrs) if !attrs.is_empty() => Ok(()),
        Ok(_) => Err(OptionError(format!("option {key}: no attribute given"))),
        Err(e) => Err(OptionError(format!(
            "option {key}: {attr:?} is not a Rust attribute: {e}"
        ))),
    }
}

impl Options {
    /// Parses the plugin parameter string (`key=value,key=value`; a comma
    /// inside a value is written `\,`).
    pub fn parse(parameter: &str) -> Result<Self, OptionError> {
        let mut o = Options::default();
        for (key, value) in Self::pairs(parameter) {
            o.set(&key, &value)?;
        }
        Ok(o)
    }

    /// The `key=value` pairs of a plugin parameter string, unchecked (a
    /// key without `=` has an empty value).
    pub fn pairs(parameter: &str) -> Vec<(String, String)> {
        split_params(parameter)
            .into_iter()
            .map(|param| match param.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
                None => (param, String::new()),
            })
            .collect()
    }

    /// Sets one option, as `key=value` in the plugin parameter would: the
    /// one place options are checked, for the plugin and `rust-rpc-build`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), OptionError> {
        match key {
            "bytes" => {
                self.bytes_as_bytes = match value {
                    "bytes" => true,
                    "vec" => false,
                    _ => {
                        return Err(OptionError(format!(
                            "option bytes: expected `bytes` or `vec`, got {value:?}"
                        )));
                    }
                }
            }
            "client" | "server" | "messages" | "text_formats" => {
                let on = match value {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(OptionError(format!(
                            "option {key}: expected `true` or `false`, got {value:?}"
                        )));
                    }
                };
                match key {
                    "client" => self.client = on,
                    "server" => self.server = on,
                    "text_formats" => self.text_formats = on,
                    _ => self.messages = on,
                }
            }
            "descriptors" => {
                self.descriptors = match value {
                    "true" => Descriptors::On,
                    "false" => Descriptors::Off,
                    "source_info" => Descriptors::WithSourceInfo,
                    _ => {
                        return Err(OptionError(format!(
                            "option descriptors: expected `true`, `false` or `source_info`, got {value:?}"
                        )));
                    }
                }
            }
            "map" => {
                self.btree_map = match value {
                    "btree" => true,
                    "hash" => false,
                    _ => {
                        return Err(OptionError(format!(
                            "option map: expected `hash` or `btree`, got {value:?}"
                        )));
                    }
                }
            }
            "runtime" => {
                check_rust_path(key, value)?;
                self.runtime = value.to_owned();
            }
            "extern_path" => {
                let (proto, rust) = value.split_once('=').ok_or_else(|| {
                    OptionError(
                        "option extern_path: expected extern_path=.proto.package=::rust::path"
                            .to_owned(),
                    )
                })?;
                check_proto_path(key, proto)?;
                if proto == ".google.protobuf" {
                    self.well_known_types = false;
                }
                if !rust.is_empty() {
                    check_rust_path(key, rust)?;
                    self.extern_paths.push((proto.to_owned(), rust.to_owned()));
                }
            }
            "type_attribute" | "field_attribute" => {
                let (path, attr) = value.split_once('=').ok_or_else(|| {
                    OptionError(format!(
                        "option {key}: expected {key}=.proto.Path=#[attribute]"
                    ))
                })?;
                check_proto_path(key, path)?;
                check_attribute(key, attr)?;
                let list = if key == "type_attribute" {
                    &mut self.type_attributes
                } else {
                    &mut self.field_attributes
                };
                list.push((path.to_owned(), attr.to_owned()));
            }
            _ => {
                return Err(OptionError(format!(
                    "unknown option {key:?} (known: bytes, map, client, server, messages, descriptors, runtime, extern_path, type_attribute, field_attribute)"
                )));
            }
        }
        Ok(())
    }

    /// The `extern_path` entries in effect, the well-known types included.
    pub fn effective_extern_paths(&self) -> Vec<(String, String)> {
        let mut paths = self.extern_paths.clone();
        if self.well_known_types {
            paths.push((
                ".google.protobuf".to_owned(),
                format!("{}::wkt", self.runtime),
            ));
        }
        paths
    }

    /// Attributes configured for the type or field with full name `full` (leading dot).
    pub fn attributes_for(&self, full: &str, field: bool) -> Vec<String> {
        let list = if field {
            &self.field_attributes
        } else {
            &self.type_attributes
        };
        list.iter()
            .filter(|(path, _)| {
                path == "." || full == path || full.starts_with(&format!("{path}."))
            })
            .map(|(_, attr)| attr.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_option() {
        let o = Options::parse(
            "bytes=bytes,map=btree,runtime=crate,extern_path=.foo=::foo_types,type_attribute=.pkg.M=#[derive(Eq\\, Hash)]",
        )
        .unwrap();
        assert!(o.bytes_as_bytes && o.btree_map);
        assert_eq!(o.runtime, "crate");
        assert_eq!(
            o.extern_paths[0],
            (".foo".to_owned(), "::foo_types".to_owned())
        );
        assert_eq!(
            o.effective_extern_paths()[1],
            (".google.protobuf".to_owned(), "crate::wkt".to_owned())
        );
        assert_eq!(o.attributes_for(".pkg.M", false), ["#[derive(Eq, Hash)]"]);
        assert!(o.attributes_for(".pkg.Mx", false).is_empty());
        assert_eq!(o.descriptors, Descriptors::On);
        for (value, want) in [
            ("false", Descriptors::Off),
            ("true", Descriptors::On),
            ("source_info", Descriptors::WithSourceInfo),
        ] {
            let o = Options::parse(&format!("descriptors={value}")).unwrap();
            assert_eq!(o.descriptors, want);
        }
        let e = Options::parse("descriptors=yes").unwrap_err();
        assert!(e.0.contains("descriptors"), "{e}");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(
            Options::parse("colour=blue")
                .unwrap_err()
                .0
                .contains("unknown option \"colour\"")
        );
        assert!(
            Options::parse("bytes=maybe")
                .unwrap_err()
                .0
                .contains("option bytes")
        );
        assert!(Options::parse("runtime=not a path").is_err());
        assert!(Options::parse("type_attribute=.a=derive(Hash)").is_err());
        assert!(Options::parse("extern_path=pkg=::x").is_err());
    }

    #[test]
    fn wkt_mapping_can_be_turned_off() {
        let o = Options::parse("extern_path=.google.protobuf=").unwrap();
        assert!(o.effective_extern_paths().is_empty());
        assert_eq!(Options::default().effective_extern_paths().len(), 1);
    }
}

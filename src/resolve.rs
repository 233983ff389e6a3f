//! Descriptors in, resolved model out: every type reference resolved to a
//! Rust path, every name decided, presence and encoding settled from the
//! file's syntax or edition, recursion known, comments attached.

use std::collections::{BTreeMap, HashMap, HashSet};

use rust_rpc::Message as _;
use rust_rpc::wkt::feature_set::{
    EnumType, FieldPresence, MessageEncoding, RepeatedFieldEncoding, Utf8Validation,
};
use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::{
    DescriptorProto, Edition, EnumDescriptorProto, FeatureSet, FieldDescriptorProto,
    FileDescriptorProto, ServiceDescriptorProto,
};
use rust_rpc_templates::model::{
    DefaultValue, Enum, EnumAlias, EnumValue, Extendable, Extension, ExtensionCardinality, Field,
    FieldShape, FileDescriptor, Message, Method, MethodKind, Oneof, OneofVariant, Package,
    Presence, Scalar, Service, TypePath, ValueType,
};

use crate::Error;
use crate::comments::Comments;
use crate::features::{self, Features};
use crate::naming::{self, Scope};
use crate::options::{Descriptors, Options};

/// Methods every generated client has; RPCs with these names get a suffix.
const CLIENT_METHODS: &[&str] = &[
    "connect",
    "new",
    "from_client",
    "send_compressed",
    "max_decoding_message_size",
    "max_encoding_message_size",
    "with_interceptor",
    "clone",
    "fmt",
];

/// Name of the struct field holding unknown fields; proto fields of that name get a suffix.
const UNKNOWN_FIELDS: &str = "unknown_fields";

struct MessageInfo<'a> {
    desc: &'a DescriptorProto,
    /// Features resolved down to this message.
    features: Features,
    path: TypePath,
    module_name: String,
    file: usize,
    /// SourceCodeInfo path of the message.
    location: Vec<i32>,
}

struct EnumInfo<'a> {
    desc: &'a EnumDescriptorProto,
    path: TypePath,
    closed: bool,
    file: usize,
    location: Vec<i32>,
    /// (number, Rust variant) for values with distinct numbers.
    variants: Vec<(i32, String)>,
}

/// Everything known about the request's types, keyed by full name with a leading dot.
pub struct Resolver<'a> {
    files: &'a [FileDescriptorProto],
    options: &'a Options,
    file_edition: Vec<Edition>,
    file_features: Vec<Features>,
    comments: Vec<Comments>,
    messages: HashMap<String, MessageInfo<'a>>,
    enums: HashMap<String, EnumInfo<'a>>,
    scopes: HashMap<Vec<String>, Scope>,
    /// Per module, the names of its constants (extensions): the value
    /// namespace, apart from the types and modules of `scopes`.
    const_scopes: HashMap<Vec<String>, Scope>,
    generating: HashSet<String>,
    boxed: HashSet<(String, String)>,
    needs_init: HashSet<String>,
}

impl<'a> Resolver<'a> {
    /// Indexes every type of every file; `generate` names the files to emit.
    pub fn new(
        files: &'a [FileDescriptorProto],
        generate: &[String],
        options: &'a Options,
    ) -> Result<Self, Error> {
        let generating: HashSet<String> = files
            .iter()
            .filter(|f| generate.iter().any(|g| g == f.name()))
            .map(|f| f.package().to_owned())
            .collect();
        let mut r = Resolver {
            files,
            options,
            file_edition: Vec::new(),
            file_features: Vec::new(),
            comments: files.iter().map(Comments::new).collect(),
            messages: HashMap::new(),
            enums: HashMap::new(),
            scopes: HashMap::new(),
            const_scopes: HashMap::new(),
            generating,
            boxed: HashSet::new(),
            needs_init: HashSet::new(),
        };
        for file in files {
            let edition = features::file_edition(file)?;
            r.file_edition.push(edition);
            r.file_features.push(features::file_features(file, edition));
        }
        // Packages nest as modules (`a.b` is module `b` inside `a`): reserve
        // those names first so that no message's module in `a` takes them.
        for file in files {
            let (modules, external) = r.package_location(file.package());
            if external.is_none() {
                for depth in 0..modules.len() {
                    r.scope(&modules[..depth], &None).reserve(&modules[depth]);
                }
            }
        }
        // Register in a stable order (package, then file name) so that
        // clash suffixes never depend on the order protoc listed files in.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by(|&a, &b| {
            (files[a].package(), files[a].name()).cmp(&(files[b].package(), files[b].name()))
        });
        for i in order {
            let file = &files[i];
            let package = file.package();
            let (modules, external) = r.package_location(package);
            let prefix = if package.is_empty() {
                String::new()
            } else {
                format!(".{package}")
            };
            for (j, m) in file.message_type.iter().enumerate() {
                r.register_message(
                    i,
                    &prefix,
                    &modules,
                    &external,
                    m,
                    r.file_features[i],
                    vec![4, j as i32],
                );
            }
            for (j, e) in file.enum_type.iter().enumerate() {
                let features = r.own_features(i, r.file_features[i], enum_features(e));
                r.register_enum(
                    i,
                    &prefix,
                    &modules,
                    &external,
                    e,
                    features,
                    vec![5, j as i32],
                );
            }
        }
        r.find_recursion();
        r.find_required();
        Ok(r)
    }

    /// Module path of a package, or the external Rust path it maps to.
    fn package_location(&self, package: &str) -> (Vec<String>, Option<String>) {
        if !self.generating.contains(package) {
            let dotted = format!(".{package}");
            let paths = self.options.effective_extern_paths();
            let best = paths
                .iter()
                .filter(|(proto, _)| dotted == *proto || dotted.starts_with(&format!("{proto}.")))
                .max_by_key(|(proto, _)| proto.len());
            if let Some((proto, rust)) = best {
                let rest = dotted[proto.len()..].split('.').filter(|s| !s.is_empty());
                return (rest.map(naming::snake).collect(), Some(rust.clone()));
            }
        }
        (package_modules(package), None)
    }

    fn scope(&mut self, module: &[String], external: &Option<String>) -> &mut Scope {
        let mut key = module.to_vec();
        if let Some(e) = external {
            key.insert(0, format!("extern:{e}"));
        }
        self.scopes
            .entry(key)
            .or_insert_with(|| Scope::with_reserved(&[]))
    }

    /// `inherited` with what an element of `file` sets in its options'
    /// `features` on top. Only editions files have features of their own.
    fn own_features(&self, file: usize, inherited: Features, own: Option<&FeatureSet>) -> Features {
        if self.file_edition[file] == Edition::Edition2023 {
            inherited.with(own)
        } else {
            inherited
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn register_message(
        &mut self,
        file: usize,
        prefix: &str,
        modules: &[String],
        external: &Option<String>,
        desc: &'a DescriptorProto,
        parent_features: Features,
        location: Vec<i32>,
    ) {
        let full = format!("{prefix}.{}", desc.name());
        let own = desc.options.as_ref().and_then(|o| o.features.as_ref());
        let features = self.own_features(file, parent_features, own);
        let is_map_entry = desc
            .options
            .as_ref()
            .and_then(|o| o.map_entry)
            .unwrap_or(false);
        let (rust_name, module_name) = if is_map_entry {
            (naming::camel(desc.name()), naming::snake(desc.name()))
        } else {
            let scope = self.scope(modules, external);
            let r = scope.claim(naming::camel(desc.name()));
            let m = scope.claim(naming::snake(desc.name()));
            (r, m)
        };
        let path = TypePath {
            modules: modules.to_vec(),
            name: rust_name,
            external: external.clone(),
        };
        let mut inner = modules.to_vec();
        inner.push(module_name.clone());
        for (j, m) in desc.nested_type.iter().enumerate() {
            let mut loc = location.clone();
            loc.extend([3, j as i32]);
            self.register_message(file, &full, &inner, external, m, features, loc);
        }
        for (j, e) in desc.enum_type.iter().enumerate() {
            let mut loc = location.clone();
            loc.extend([4, j as i32]);
            let enum_features = self.own_features(file, features, enum_features(e));
            self.register_enum(file, &full, &inner, external, e, enum_features, loc);
        }
        self.messages.insert(
            full,
            MessageInfo {
                desc,
                features,
                path,
                module_name,
                file,
                location,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn register_enum(
        &mut self,
        file: usize,
        prefix: &str,
        modules: &[String],
        external: &Option<String>,
        desc: &'a EnumDescriptorProto,
        features: Features,
        location: Vec<i32>,
    ) {
        let full = format!("{prefix}.{}", desc.name());
        let name = self
            .scope(modules, external)
            .claim(naming::camel(desc.name()));
        let closed = features.enum_type == EnumType::Closed;
        let mut seen = HashSet::new();
        let mut names = Scope::default();
        let variants = desc
            .value
            .iter()
            .filter(|v| seen.insert(v.number()))
            .map(|v| {
                (
                    v.number(),
                    names.claim(naming::enum_variant(desc.name(), v.name())),
                )
            })
            .collect();
        let path = TypePath {
            modules: modules.to_vec(),
            name,
            external: external.clone(),
        };
        self.enums.insert(
            full,
            EnumInfo {
                desc,
                path,
                closed,
                file,
                location,
                variants,
            },
        );
    }

    /// Marks singular message fields that close a cycle of singular message
    /// fields: those need `Box`.
    fn find_recursion(&mut self) {
        let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, info) in &self.messages {
            for f in &info.desc.field {
                if f.label() != Label::Repeated && matches!(f.r#type(), Type::Message | Type::Group)
                {
                    edges.entry(name.as_str()).or_default().push(f.type_name());
                }
            }
        }
        let reach = |from: &str| -> HashSet<&str> {
            let mut seen = HashSet::new();
            let mut stack = vec![from];
            while let Some(n) = stack.pop() {
                for &next in edges.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                    if seen.insert(next) {
                        stack.push(next);
                    }
                }
            }
            seen
        };
        let mut boxed = HashSet::new();
        for (name, targets) in &edges {
            for &t in targets {
                if reach(t).contains(name) {
                    boxed.insert(((*name).to_owned(), t.to_owned()));
                }
            }
        }
        self.boxed = boxed;
    }

    /// Finds messages that have required fields, directly or through any
    /// message they contain.
    fn find_required(&mut self) {
        let mut needs: HashSet<String> = self
            .messages
            .iter()
            .filter(|(_, m)| {
                m.desc.field.iter().any(|f| {
                    f.label() == Label::Required
                        || self.field_features(m, f).field_presence == FieldPresence::LegacyRequired
                })
            })
            .map(|(n, _)| n.clone())
            .collect();
        loop {
            let before = needs.len();
            for (name, m) in &self.messages {
                if needs.contains(name) {
                    continue;
                }
                if m.desc.field.iter().any(|f| needs.contains(f.type_name())) {
                    needs.insert(name.clone());
                }
            }
            if needs.len() == before {
                break;
            }
        }
        self.needs_init = needs;
    }

    /// The features of field `f` of message `m`: the message's, then its
    /// oneof's, then its own.
    fn field_features(&self, m: &MessageInfo<'_>, f: &FieldDescriptorProto) -> Features {
        let oneof = f
            .oneof_index
            .filter(|_| !f.proto3_optional())
            .and_then(|o| m.desc.oneof_decl.get(usize::try_from(o).ok()?))
            .and_then(|o| o.options.as_ref()?.features.as_ref());
        let own = f.options.as_ref().and_then(|o| o.features.as_ref());
        let in_oneof = self.own_features(m.file, m.features, oneof);
        self.own_features(m.file, in_oneof, own)
    }

    /// Builds the packages of the files to generate, sorted by package name.
    pub fn packages(&mut self, generate: &[String]) -> Result<Vec<Package>, Error> {
        let mut by_package: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, f) in self.files.iter().enumerate() {
            if generate.iter().any(|g| g == f.name()) {
                by_package
                    .entry(f.package().to_owned())
                    .or_default()
                    .push(i);
            }
        }
        let mut out = Vec::new();
        for (package, mut files) in by_package {
            files.sort_by(|&a, &b| self.files[a].name().cmp(self.files[b].name()));
            let mut p = Package {
                name: package.clone(),
                module_path: package_modules(&package),
                source_files: files
                    .iter()
                    .map(|&i| self.files[i].name().to_owned())
                    .collect(),
                messages: Vec::new(),
                enums: Vec::new(),
                services: Vec::new(),
                extensions: Vec::new(),
                descriptors: Vec::new(),
                descriptors_name: naming::FILE_DESCRIPTORS.to_owned(),
            };
            // The descriptor statics' names are fixed (other code names
            // them): extension constants give way.
            let consts = self.const_scopes.entry(p.module_path.clone()).or_default();
            consts.reserve(naming::FILE_DESCRIPTORS);
            if self.options.descriptors != Descriptors::Off {
                let mut seen: HashMap<String, &str> = HashMap::new();
                for &i in &files {
                    let name = naming::descriptor_static(self.files[i].name());
                    if let Some(other) = seen.insert(name.clone(), self.files[i].name()) {
                        return Err(Error::new(
                            self.files[i].name(),
                            format!(
                                "its descriptor static {name} would be the same as {other}'s; \
                                 rename one file, or generate with descriptors=false"
                            ),
                        ));
                    }
                    consts.reserve(&name);
                }
                for &i in &files {
                    p.descriptors.push(self.file_descriptor(i)?);
                }
            }
            let prefix = if package.is_empty() {
                String::new()
            } else {
                format!(".{package}")
            };
            for i in files {
                let file = &self.files[i];
                for m in &file.message_type {
                    p.messages
                        .push(self.message(&format!("{prefix}.{}", m.name()))?);
                }
                for e in &file.enum_type {
                    p.enums
                        .push(self.enumeration(&format!("{prefix}.{}", e.name()))?);
                }
                for (j, s) in file.service.iter().enumerate() {
                    let service = self.service(i, &package, &p.module_path, j, s)?;
                    p.services.push(service);
                }
                for (k, x) in file.extension.iter().enumerate() {
                    let scope = ExtensionScope {
                        file: i,
                        full_name: &prefix,
                        module: &p.module_path,
                        features: self.file_features[i],
                    };
                    let extension = self.extension(&scope, x, vec![7, k as i32])?;
                    p.extensions.push(extension);
                }
            }
            out.push(p);
        }
        Ok(out)
    }

    /// The field's name in the text format: a group's is its type's name
    /// (protobuf's "group-like" rule: a delimited field named as its type
    /// lowercased, the type declared in the same file beside the field).
    fn text_name(
        &self,
        scope: &str,
        file: usize,
        f: &FieldDescriptorProto,
        delimited: bool,
    ) -> String {
        let type_name = f.type_name();
        let simple = type_name.rsplit('.').next().unwrap_or(type_name);
        let group_like = delimited
            && f.name() == simple.to_ascii_lowercase()
            && type_name
                .strip_suffix(simple)
                .and_then(|s| s.strip_suffix('.'))
                == Some(scope)
            && self.messages.get(type_name).is_some_and(|m| m.file == file);
        if group_like { simple } else { f.name() }.to_owned()
    }

    fn message(&mut self, full: &str) -> Result<Message, Error> {
        let info = self
            .messages
            .get(full)
            .ok_or_else(|| Error::new("", format!("unknown message {full}")))?;
        let desc = info.desc;
        let file = info.file;
        let file_name = self.files[file].name().to_owned();
        let edition = self.file_edition[file];
        let location = info.location.clone();
        let module_name = info.module_name.clone();
        let mut inner_module = info.path.modules.clone();
        inner_module.push(module_name.clone());
        let comments = &self.comments[file];
        let docs = comments.docs(&location);
        let deprecated = desc
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            .unwrap_or(false);
        let rust_name = info.path.name.clone();
        let err = |msg: String| Error::new(&file_name, format!("message {}: {msg}", &full[1..]));

        let mut struct_scope = Scope::with_reserved(&[UNKNOWN_FIELDS]);
        let mut fields = Vec::new();
        let mut oneof_members: Vec<Vec<(usize, &FieldDescriptorProto)>> =
            vec![Vec::new(); desc.oneof_decl.len()];
        let real_oneof: Vec<bool> = (0..desc.oneof_decl.len())
            .map(|o| {
                desc.field
                    .iter()
                    .any(|f| f.oneof_index == Some(o as i32) && !f.proto3_optional())
            })
            .collect();
        // Oneof struct fields take their names in declaration order, after
        // regular fields that precede them; claim in field order for stability.
        for (idx, f) in desc.field.iter().enumerate() {
            if let Some(o) = f
                .oneof_index
                .filter(|&o| real_oneof.get(o as usize).copied().unwrap_or(false))
            {
                if let Some(members) = oneof_members.get_mut(o as usize) {
                    members.push((idx, f));
                }
                continue;
            }
            let features = self.field_features(&self.messages[full], f);
            let mut loc = location.clone();
            loc.extend([2, idx as i32]);
            let shape = self.field_shape(full, edition, features, f).map_err(&err)?;
            let delimited = matches!(
                &shape,
                FieldShape::Singular {
                    ty: ValueType::Message {
                        delimited: true,
                        ..
                    },
                    ..
                } | FieldShape::Repeated {
                    ty: ValueType::Message {
                        delimited: true,
                        ..
                    },
                    ..
                }
            );
            fields.push(Field {
                proto_name: f.name().to_owned(),
                json_name: json_name(f),
                text_name: self.text_name(full, file, f, delimited),
                rust_name: struct_scope.claim(naming::snake(f.name())),
                number: field_number(f).map_err(&err)?,
                docs: self.comments[file].docs(&loc),
                deprecated: f
                    .options
                    .as_ref()
                    .and_then(|o| o.deprecated)
                    .unwrap_or(false),
                shape,
                attributes: self
                    .options
                    .attributes_for(&format!("{full}.{}", f.name()), true),
            });
        }
        let mut oneofs = Vec::new();
        let mut module_scope_claims = Vec::new();
        for (o, members) in oneof_members.into_iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            let decl = &desc.oneof_decl[o];
            let mut variant_scope = Scope::default();
            let mut variants = Vec::new();
            for (idx, f) in members {
                let features = self.field_features(&self.messages[full], f);
                let mut loc = location.clone();
                loc.extend([2, idx as i32]);
                let ty = self.value_type(full, features, f).map_err(&err)?;
                let delimited = matches!(
                    ty,
                    ValueType::Message {
                        delimited: true,
                        ..
                    }
                );
                variants.push(OneofVariant {
                    proto_name: f.name().to_owned(),
                    json_name: json_name(f),
                    text_name: self.text_name(full, file, f, delimited),
                    rust_name: variant_scope.claim(naming::camel(f.name())),
                    number: field_number(f).map_err(&err)?,
                    docs: self.comments[file].docs(&loc),
                    deprecated: f
                        .options
                        .as_ref()
                        .and_then(|x| x.deprecated)
                        .unwrap_or(false),
                    ty,
                });
            }
            let mut loc = location.clone();
            loc.extend([8, o as i32]);
            module_scope_claims.push(naming::camel(decl.name()));
            oneofs.push(Oneof {
                proto_name: decl.name().to_owned(),
                rust_name: struct_scope.claim(naming::snake(decl.name())),
                enum_name: String::new(),
                docs: self.comments[file].docs(&loc),
                variants,
            });
        }
        // Oneof enums live in the message's module next to nested types.
        let info_path = self.messages[full].path.clone();
        let external = info_path.external.clone();
        let scope = self.scope(&inner_module, &external);
        for (o, name) in oneofs.iter_mut().zip(module_scope_claims) {
            o.enum_name = scope.claim(name);
        }

        let mut messages = Vec::new();
        for m in &desc.nested_type {
            if m.options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false)
            {
                continue;
            }
            messages.push(self.message(&format!("{full}.{}", m.name()))?);
        }
        let mut enums = Vec::new();
        for e in &desc.enum_type {
            enums.push(self.enumeration(&format!("{full}.{}", e.name()))?);
        }
        let scope = ExtensionScope {
            file,
            full_name: full,
            module: &inner_module,
            features: self.messages[full].features,
        };
        let mut extensions = Vec::new();
        for (k, x) in desc.extension.iter().enumerate() {
            let mut loc = location.clone();
            loc.extend([6, k as i32]);
            extensions.push(self.extension(&scope, x, loc)?);
        }
        let extendable = if desc.extension_range.is_empty() {
            None
        } else if is_message_set(desc) {
            Some(Extendable::MessageSet)
        } else {
            Some(Extendable::Fields)
        };
        Ok(Message {
            proto_name: full[1..].to_owned(),
            rust_name,
            module_name,
            docs,
            deprecated,
            fields,
            oneofs,
            messages,
            enums,
            unknown_fields_name: UNKNOWN_FIELDS.to_owned(),
            needs_init_check: self.needs_init.contains(full),
            extendable,
            extensions,
            attributes: self.options.attributes_for(full, false),
        })
    }

    /// The typed constant for extension field `f`, declared in `scope`.
    fn extension(
        &mut self,
        scope: &ExtensionScope<'_>,
        f: &FieldDescriptorProto,
        location: Vec<i32>,
    ) -> Result<Extension, Error> {
        let full = format!("{}.{}", scope.full_name, f.name());
        let file_name = self.files[scope.file].name().to_owned();
        let err = |msg: String| Error::new(&file_name, format!("extension {}: {msg}", &full[1..]));
        let extendee = self
            .messages
            .get(f.extendee())
            .ok_or_else(|| err(format!("unknown message type {}", f.extendee())))?;
        let extendee_path = extendee.path.clone();
        let message_set = is_message_set(extendee.desc);
        let own = f.options.as_ref().and_then(|o| o.features.as_ref());
        let features = self.own_features(scope.file, scope.features, own);
        let ty = self.value_type(&full, features, f).map_err(&err)?;
        let number = if message_set {
            // MessageSet items carry their `type_id` as a full int32.
            u32::try_from(f.number())
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| err(format!("invalid number {}", f.number())))?
        } else {
            field_number(f).map_err(&err)?
        };
        let cardinality = if f.label() == Label::Repeated {
            ExtensionCardinality::Repeated {
                packed: is_packed(self.file_edition[scope.file], features, f, &ty),
            }
        } else if let Some(text) = &f.default_value {
            ExtensionCardinality::Defaulted(self.default_value(f, &ty, text).map_err(&err)?)
        } else {
            ExtensionCardinality::Optional
        };
        let rust_name = self
            .const_scopes
            .entry(scope.module.to_vec())
            .or_default()
            .claim(naming::constant(f.name()));
        Ok(Extension {
            proto_name: full[1..].to_owned(),
            rust_name,
            number,
            extendee: extendee_path,
            extendee_proto_name: f.extendee().trim_start_matches('.').to_owned(),
            cardinality,
            ty,
            docs: self.comments[scope.file].docs(&location),
            deprecated: f
                .options
                .as_ref()
                .and_then(|o| o.deprecated)
                .unwrap_or(false),
        })
    }

    fn service(
        &mut self,
        file: usize,
        package: &str,
        module: &[String],
        index: usize,
        desc: &ServiceDescriptorProto,
    ) -> Result<Service, Error> {
        let file_name = self.files[file].name().to_owned();
        let proto_name = if package.is_empty() {
            desc.name().to_owned()
        } else {
            format!("{package}.{}", desc.name())
        };
        let scope = self.scope(module, &None);
        let trait_name = scope.claim(naming::camel(desc.name()));
        let client_name = scope.claim(format!(
            "{}Client",
            trait_name.trim_start_matches("r#").trim_end_matches('_')
        ));
        let server_name = scope.claim(format!(
            "{}Server",
            trait_name.trim_start_matches("r#").trim_end_matches('_')
        ));
        // Method names share the client's namespace with its own helpers, and
        // the server trait's with the associated stream types.
        let mut methods_scope = Scope::with_reserved(CLIENT_METHODS);
        let mut types_scope = Scope::default();
        let mut methods = Vec::new();
        for (k, m) in desc.method.iter().enumerate() {
            let resolve = |name: &str| {
                self.messages
                    .get(name)
                    .map(|info| info.path.clone())
                    .ok_or_else(|| {
                        Error::new(
                            &file_name,
                            format!(
                                "method {proto_name}.{}: unknown message type {name}",
                                m.name()
                            ),
                        )
                    })
            };
            let input = resolve(m.input_type())?;
            let output = resolve(m.output_type())?;
            let kind = match (m.client_streaming(), m.server_streaming()) {
                (false, false) => MethodKind::Unary,
                (false, true) => MethodKind::ServerStreaming,
                (true, false) => MethodKind::ClientStreaming,
                (true, true) => MethodKind::BidiStreaming,
            };
            let rust_name = methods_scope.claim(naming::snake(m.name()));
            let stream_type_name = types_scope.claim(format!(
                "{}Stream",
                naming::camel(m.name()).trim_start_matches("r#")
            ));
            methods.push(Method {
                proto_name: m.name().to_owned(),
                rust_name,
                stream_type_name,
                path: format!("/{proto_name}/{}", m.name()),
                kind,
                input,
                output,
                docs: self.comments[file].docs(&[6, index as i32, 2, k as i32]),
                deprecated: m
                    .options
                    .as_ref()
                    .and_then(|o| o.deprecated)
                    .unwrap_or(false),
            });
        }
        Ok(Service {
            docs: self.comments[file].docs(&[6, index as i32]),
            deprecated: desc
                .options
                .as_ref()
                .and_then(|o| o.deprecated)
                .unwrap_or(false),
            proto_name,
            trait_name,
            client_name,
            server_name,
            methods,
            descriptor: (self.options.descriptors != Descriptors::Off)
                .then(|| naming::descriptor_static(self.files[file].name())),
        })
    }

    /// The embedded descriptor of file `i`, and the paths of its imports'.
    fn file_descriptor(&self, i: usize) -> Result<FileDescriptor, Error> {
        let file = &self.files[i];
        let mut embedded = file.clone();
        if self.options.descriptors != Descriptors::WithSourceInfo {
            embedded.source_code_info = None;
        }
        let mut dependencies = Vec::new();
        for dep in &file.dependency {
            let imported = self.files.iter().find(|f| f.name() == dep).ok_or_else(|| {
                Error::new(
                    file.name(),
                    format!("import {dep:?} is missing from the request"),
                )
            })?;
            let (modules, external) = self.package_location(imported.package());
            dependencies.push(TypePath {
                modules,
                name: naming::descriptor_static(dep),
                external,
            });
        }
        Ok(FileDescriptor {
            proto_name: file.name().to_owned(),
            rust_name: naming::descriptor_static(file.name()),
            package: file.package().to_owned(),
            encoded: embedded.encode_to_vec(),
            dependencies,
        })
    }

    fn enumeration(&self, full: &str) -> Result<Enum, Error> {
        let info = self
            .enums
            .get(full)
            .ok_or_else(|| Error::new("", format!("unknown enum {full}")))?;
        let desc = info.desc;
        let comments = &self.comments[info.file];
        let mut values = Vec::new();
        let mut aliases = Vec::new();
        let mut alias_scope = Scope::default();
        for (k, v) in desc.value.iter().enumerate() {
            let mut loc = info.location.clone();
            loc.extend([2, k as i32]);
            let docs = comments.docs(&loc);
            let target = info
                .variants
                .iter()
                .find(|(n, _)| *n == v.number())
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            if values.iter().any(|x: &EnumValue| x.number == v.number()) {
                aliases.push(EnumAlias {
                    proto_name: v.name().to_owned(),
                    rust_name: alias_scope.claim(naming::constant(v.name())),
                    target,
                    docs,
                });
            } else {
                values.push(EnumValue {
                    proto_name: v.name().to_owned(),
                    rust_name: target,
                    number: v.number(),
                    docs,
                    deprecated: v
                        .options
                        .as_ref()
                        .and_then(|o| o.deprecated)
                        .unwrap_or(false),
                });
            }
        }
        if values.is_empty() {
            return Err(Error::new(
                self.files[info.file].name(),
                format!("enum {} has no values", &full[1..]),
            ));
        }
        Ok(Enum {
            proto_name: full[1..].to_owned(),
            rust_name: info.path.name.clone(),
            docs: comments.docs(&info.location),
            deprecated: desc
                .options
                .as_ref()
                .and_then(|o| o.deprecated)
                .unwrap_or(false),
            values,
            aliases,
            attributes: self.options.attributes_for(full, false),
        })
    }

    fn field_shape(
        &self,
        owner: &str,
        edition: Edition,
        features: Features,
        f: &FieldDescriptorProto,
    ) -> Result<FieldShape, String> {
        if f.label() == Label::Repeated {
            if let Some(entry) = self.messages.get(f.type_name()).filter(|m| {
                f.r#type() == Type::Message
                    && m.desc
                        .options
                        .as_ref()
                        .and_then(|o| o.map_entry)
                        .unwrap_or(false)
            }) {
                let key = entry
                    .desc
                    .field
                    .iter()
                    .find(|x| x.number() == 1)
                    .ok_or("map entry without key")?;
                let value = entry
                    .desc
                    .field
                    .iter()
                    .find(|x| x.number() == 2)
                    .ok_or("map entry without value")?;
                // Map entries and their values are always length-prefixed,
                // whatever `message_encoding` the map field inherits.
                let features = Features {
                    message_encoding: MessageEncoding::LengthPrefixed,
                    ..features
                };
                return Ok(FieldShape::Map {
                    key: self.value_type(owner, features, key)?,
                    value: self.value_type(owner, features, value)?,
                });
            }
            let ty = self.value_type(owner, features, f)?;
            return Ok(FieldShape::Repeated {
                packed: is_packed(edition, features, f, &ty),
                ty,
            });
        }
        let ty = self.value_type(owner, features, f)?;
        let presence = if f.label() == Label::Required
            || features.field_presence == FieldPresence::LegacyRequired
        {
            Presence::Required
        } else if edition == Edition::Proto3 {
            if f.proto3_optional() || matches!(ty, ValueType::Message { .. }) {
                Presence::Explicit
            } else {
                Presence::Implicit
            }
        } else if features.field_presence == FieldPresence::Implicit
            && !matches!(ty, ValueType::Message { .. })
        {
            Presence::Implicit
        } else {
            Presence::Explicit
        };
        let default = match &f.default_value {
            Some(text) => Some(self.default_value(f, &ty, text)?),
            None => None,
        };
        Ok(FieldShape::Singular {
            ty,
            presence,
            default,
        })
    }

    fn value_type(
        &self,
        owner: &str,
        features: Features,
        f: &FieldDescriptorProto,
    ) -> Result<ValueType, String> {
        let scalar = |s| Ok(ValueType::Scalar(s));
        match f.r#type() {
            Type::Double => scalar(Scalar::Double),
            Type::Float => scalar(Scalar::Float),
            Type::Int64 => scalar(Scalar::Int64),
            Type::Uint64 => scalar(Scalar::Uint64),
            Type::Int32 => scalar(Scalar::Int32),
            Type::Fixed64 => scalar(Scalar::Fixed64),
            Type::Fixed32 => scalar(Scalar::Fixed32),
            Type::Bool => scalar(Scalar::Bool),
            Type::Uint32 => scalar(Scalar::Uint32),
            Type::Sfixed32 => scalar(Scalar::Sfixed32),
            Type::Sfixed64 => scalar(Scalar::Sfixed64),
            Type::Sint32 => scalar(Scalar::Sint32),
            Type::Sint64 => scalar(Scalar::Sint64),
            Type::String => Ok(ValueType::String {
                verify_utf8: features.utf8_validation == Utf8Validation::Verify,
            }),
            Type::Bytes => Ok(ValueType::Bytes),
            Type::Enum => {
                let e = self.enums.get(f.type_name()).ok_or_else(|| {
                    format!("field {}: unknown enum type {}", f.name(), f.type_name())
                })?;
                Ok(ValueType::Enum {
                    path: e.path.clone(),
                    closed: e.closed,
                })
            }
            Type::Message | Type::Group => {
                let m = self.messages.get(f.type_name()).ok_or_else(|| {
                    format!("field {}: unknown message type {}", f.name(), f.type_name())
                })?;
                let delimited = f.r#type() == Type::Group
                    || features.message_encoding == MessageEncoding::Delimited;
                Ok(ValueType::Message {
                    path: m.path.clone(),
                    boxed: f.label() != Label::Repeated
                        && self
                            .boxed
                            .contains(&(owner.to_owned(), f.type_name().to_owned())),
                    delimited,
                    needs_init_check: self.needs_init.contains(f.type_name()),
                })
            }
        }
    }

    fn default_value(
        &self,
        f: &FieldDescriptorProto,
        ty: &ValueType,
        text: &str,
    ) -> Result<DefaultValue, String> {
        let bad = || format!("field {}: invalid default value {text:?}", f.name());
        Ok(match ty {
            ValueType::Scalar(Scalar::Double | Scalar::Float) => DefaultValue::Float(match text {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                _ => text.parse().map_err(|_| bad())?,
            }),
            ValueType::Scalar(Scalar::Bool) => DefaultValue::Bool(text == "true"),
            ValueType::Scalar(
                Scalar::Uint32 | Scalar::Uint64 | Scalar::Fixed32 | Scalar::Fixed64,
            ) => DefaultValue::Uint(text.parse().map_err(|_| bad())?),
            ValueType::Scalar(_) => DefaultValue::Int(text.parse().map_err(|_| bad())?),
            ValueType::String { .. } => DefaultValue::String(text.to_owned()),
            ValueType::Bytes => DefaultValue::Bytes(unescape_c(text).ok_or_else(bad)?),
            ValueType::Enum { .. } => {
                let e = self.enums.get(f.type_name()).ok_or_else(bad)?;
                let number = e
                    .desc
                    .value
                    .iter()
                    .find(|v| v.name() == text)
                    .map(|v| v.number())
                    .ok_or_else(bad)?;
                let variant = e
                    .variants
                    .iter()
                    .find(|(n, _)| *n == number)
                    .map(|(_, r)| r.clone())
                    .ok_or_else(bad)?;
                DefaultValue::Enum(variant)
            }
            ValueType::Message { .. } => return Err(bad()),
        })
    }
}

/// Where an extension is declared: a file's top level or a message.
struct ExtensionScope<'a> {
    /// Index of the file.
    file: usize,
    /// Full proto name of the scope with a leading dot (`.pkg` or
    /// `.pkg.Msg`; empty for a file without a package).
    full_name: &'a str,
    /// The Rust module the constant goes in.
    module: &'a [String],
    /// The features the extension inherits.
    features: Features,
}

/// Whether repeated field `f` of type `ty` is written packed.
fn is_packed(
    edition: Edition,
    features: Features,
    f: &FieldDescriptorProto,
    ty: &ValueType,
) -> bool {
    let packed = match edition {
        Edition::Proto2 => f.options.as_ref().and_then(|o| o.packed).unwrap_or(false),
        Edition::Proto3 => f.options.as_ref().and_then(|o| o.packed).unwrap_or(true),
        _ => features.repeated_field_encoding == RepeatedFieldEncoding::Packed,
    };
    packed && rust_rpc_templates::codec::is_packable(ty)
}

/// `option message_set_wire_format = true`.
fn is_message_set(desc: &DescriptorProto) -> bool {
    desc.options
        .as_ref()
        .and_then(|o| o.message_set_wire_format)
        .unwrap_or(false)
}

/// `EnumOptions.features` of `e`.
fn enum_features(e: &EnumDescriptorProto) -> Option<&FeatureSet> {
    e.options.as_ref().and_then(|o| o.features.as_ref())
}

fn field_number(f: &FieldDescriptorProto) -> Result<u32, String> {
    u32::try_from(f.number())
        .ok()
        .filter(|n| (1..=rust_rpc::encoding::MAX_FIELD_NUMBER).contains(n))
        .ok_or_else(|| format!("field {} has invalid number {}", f.name(), f.number()))
}

/// Module path for a proto package: one snake_case module per segment.
pub fn package_modules(package: &str) -> Vec<String> {
    package
        .split('.')
        .filter(|s| !s.is_empty())
        .map(naming::snake)
        .collect()
}

/// Undoes protoc's C escaping of `bytes` defaults (`\n`, `\\`, `\"`, `\'`,
/// `\ooo` octal, `\xHH` hex).
fn unescape_c(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    crate::parse::literal::unescape_body(text.as_bytes(), &mut out).ok()?;
    Some(out)
}

/// The field's JSON name: as the descriptor gives it (protoc and our own
/// front end always fill it in), else derived from the name as protoc does.
fn json_name(f: &FieldDescriptorProto) -> String {
    match &f.json_name {
        Some(name) => name.clone(),
        None => crate::parse::link::json_name(f.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::unescape_c;

    #[test]
    fn c_escapes() {
        assert_eq!(
            unescape_c(r"\000\001\007\010\014\n\r\t\013\\\'\042\xfe").as_deref(),
            Some(&b"\0\x01\x07\x08\x0c\n\r\t\x0b\\'\"\xfe"[..])
        );
        assert_eq!(unescape_c("abc").as_deref(), Some(&b"abc"[..]));
        assert_eq!(unescape_c("\\"), None);
        assert_eq!(unescape_c("\\q"), None);
    }
}

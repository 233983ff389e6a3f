//! What reflection looks names up in: every file a server's services are
//! declared in, with their imports, indexed once by file name, by symbol
//! and by extension.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::descriptor::FileDescriptor;
use crate::wkt::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto};

/// A server's files, by what reflection asks for.
pub(crate) struct Index {
    services: Vec<String>,
    files: HashMap<&'static str, &'static FileDescriptor>,
    symbols: HashMap<String, &'static FileDescriptor>,
    /// Extension field numbers by extended message, and the file of each.
    extensions: HashMap<String, BTreeMap<i32, &'static FileDescriptor>>,
    /// Every message type declared, for extension-number questions about
    /// types that have none.
    messages: HashSet<String>,
}

impl Index {
    /// The index of `roots` and every file they import; `services` are the
    /// names `list_services` answers.
    pub(crate) fn new(mut services: Vec<String>, roots: Vec<&'static FileDescriptor>) -> Self {
        services.sort();
        services.dedup();
        let mut index = Index {
            services,
            files: HashMap::new(),
            symbols: HashMap::new(),
            extensions: HashMap::new(),
            messages: HashSet::new(),
        };
        for root in roots {
            for file in root.closure() {
                if index.files.insert(file.name, file).is_none() {
                    index.add(file);
                }
            }
        }
        index
    }

    fn add(&mut self, file: &'static FileDescriptor) {
        let proto = match file.decode() {
            Ok(p) => p,
            Err(e) => {
                // Generated code embeds what protoc gave it: this does not
                // happen, and if it did, only this file's symbols would be
                // missing.
                tracing::warn!(file = file.name, error = %e, "an embedded descriptor does not decode");
                return;
            }
        };
        let scope = proto.package().to_owned();
        for message in &proto.message_type {
            self.add_message(&scope, message, file);
        }
        for e in &proto.enum_type {
            self.add_enum(&scope, e, file);
        }
        for service in &proto.service {
            let name = qualify(&scope, service.name());
            for method in &service.method {
                self.symbols
                    .insert(format!("{name}.{}", method.name()), file);
            }
            self.symbols.insert(name, file);
        }
        for extension in &proto.extension {
            self.add_extension(&scope, extension, file);
        }
    }

    fn add_message(
        &mut self,
        scope: &str,
        message: &DescriptorProto,
        file: &'static FileDescriptor,
    ) {
        let name = qualify(scope, message.name());
        for nested in &message.nested_type {
            self.add_message(&name, nested, file);
        }
        for e in &message.enum_type {
            self.add_enum(&name, e, file);
        }
        for extension in &message.extension {
            self.add_extension(&name, extension, file);
        }
        self.messages.insert(name.clone());
        self.symbols.insert(name, file);
    }

    fn add_enum(&mut self, scope: &str, e: &EnumDescriptorProto, file: &'static FileDescriptor) {
        self.symbols.insert(qualify(scope, e.name()), file);
    }

    fn add_extension(
        &mut self,
        scope: &str,
        field: &FieldDescriptorProto,
        file: &'static FileDescriptor,
    ) {
        self.symbols.insert(qualify(scope, field.name()), file);
        let extendee = field.extendee();
        let extendee = extendee.strip_prefix('.').unwrap_or(extendee).to_owned();
        self.extensions
            .entry(extendee)
            .or_default()
            .insert(field.number(), file);
    }

    /// The services the server hosts, sorted.
    pub(crate) fn services(&self) -> &[String] {
        &self.services
    }

    pub(crate) fn file(&self, name: &str) -> Option<&'static FileDescriptor> {
        self.files.get(name).copied()
    }

    /// The file declaring `name` (fully qualified, no leading dot).
    pub(crate) fn symbol(&self, name: &str) -> Option<&'static FileDescriptor> {
        self.symbols.get(name).copied()
    }

    pub(crate) fn extension(&self, extendee: &str, number: i32) -> Option<&'static FileDescriptor> {
        self.extensions.get(extendee)?.get(&number).copied()
    }

    /// The extension numbers of message type `name`, ascending; `None` if no
    /// such type is declared.
    pub(crate) fn extension_numbers(&self, name: &str) -> Option<Vec<i32>> {
        let known = self.messages.contains(name);
        match self.extensions.get(name) {
            Some(numbers) => Some(numbers.keys().copied().collect()),
            None if known => Some(Vec::new()),
            None => None,
        }
    }
}

/// `scope.name`, or `name` at the top of a file without a package.
fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

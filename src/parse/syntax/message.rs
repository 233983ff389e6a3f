//! Messages and what they hold: fields, map fields, groups, oneofs,
//! extension ranges, reserved numbers and names, `extend` blocks.

use rust_rpc::wkt::field_descriptor_proto::{Label, Type};
use rust_rpc::wkt::{
    DescriptorProto, FieldDescriptorProto, MessageOptions, OneofDescriptorProto, descriptor_proto,
};

use super::super::text::Pos;
use super::super::tokenizer::Kind;
use super::*;
use crate::Error;

impl Parser<'_> {
    // ---- messages ----------------------------------------------------

    pub(super) fn message(&mut self, d: Declaration) -> Result<DescriptorProto, Error> {
        self.advance(); // `message`
        let (name, _) = self.identifier("the message name")?;
        let mut m = DescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(Some(&d), "after the message name")?;
        self.message_body(&mut m, &d.path)?;
        self.close_body("at the end of the message")?;
        Ok(m)
    }

    /// One level deeper, or an error past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!(
                "messages and values nest more than {MAX_DEPTH} levels deep here"
            )));
        }
        Ok(())
    }

    /// Statements up to the `}` that closes the message (not consumed).
    pub(super) fn message_body(
        &mut self,
        m: &mut DescriptorProto,
        path: &[i32],
    ) -> Result<(), Error> {
        self.enter()?;
        let body = self.message_statements(m, path);
        self.depth -= 1;
        body
    }

    pub(super) fn message_statements(
        &mut self,
        m: &mut DescriptorProto,
        path: &[i32],
    ) -> Result<(), Error> {
        while self.in_body("message")? {
            let c = self.current();
            let keyword = if c.kind == Kind::Ident { c.text } else { "" };
            match keyword {
                "message" => {
                    let d = self.declaration(child(path, 3, m.nested_type.len()));
                    let nested = self.message(d)?;
                    m.nested_type.push(nested);
                }
                "enum" => {
                    let d = self.declaration(child(path, 4, m.enum_type.len()));
                    let e = self.enumeration(d)?;
                    m.enum_type.push(e);
                }
                "extensions" => self.extensions(m, path)?,
                "reserved" => self.message_reserved(m)?,
                "extend" => {
                    let mut sink = Sink {
                        fields: &mut m.extension,
                        fields_at: (path, 6),
                        types: &mut m.nested_type,
                        types_at: (path, 3),
                    };
                    self.extend(&mut sink)?;
                }
                "option" => self.option_statement(OptionsOf::Message, path.to_vec())?,
                "oneof" => self.oneof(m, path)?,
                _ => {
                    let mut sink = Sink::message(m, path);
                    self.field(&mut sink, FieldContext::Message)?;
                }
            }
        }
        self.synthetic_oneofs(m);
        Ok(())
    }

    /// protoc gives each proto3 `optional` field a oneof of its own, after
    /// every real oneof, named `_` + the field's name (prefixed with `X`
    /// until no other field or oneof has that name).
    pub(super) fn synthetic_oneofs(&mut self, m: &mut DescriptorProto) {
        let mut names: Vec<String> = m
            .field
            .iter()
            .map(|f| f.name().to_owned())
            .chain(m.oneof_decl.iter().map(|o| o.name().to_owned()))
            .collect();
        for i in 0..m.field.len() {
            if !m.field[i].proto3_optional() {
                continue;
            }
            let field = m.field[i].name();
            let mut name = if field.starts_with('_') {
                field.to_owned()
            } else {
                format!("_{field}")
            };
            while names.contains(&name) {
                name.insert(0, 'X');
            }
            names.push(name.clone());
            m.field[i].oneof_index = Some(i32::try_from(m.oneof_decl.len()).unwrap_or(i32::MAX));
            m.oneof_decl.push(OneofDescriptorProto {
                name: Some(name),
                ..Default::default()
            });
        }
    }

    pub(super) fn oneof(&mut self, m: &mut DescriptorProto, path: &[i32]) -> Result<(), Error> {
        let index = m.oneof_decl.len();
        let d = self.declaration(child(path, 8, index));
        self.advance(); // `oneof`
        let (name, _) = self.identifier("the oneof name")?;
        m.oneof_decl.push(OneofDescriptorProto {
            name: Some(name),
            ..Default::default()
        });
        self.open_body(Some(&d), "after the oneof name")?;
        let mut fields = 0;
        while self.in_body("oneof")? {
            let c = self.current();
            if self.at("option") {
                self.option_statement(OptionsOf::Oneof, d.path.clone())?;
                continue;
            }
            if c.kind == Kind::Ident && matches!(c.text, "required" | "optional" | "repeated") {
                return Err(self.error(
                    "fields in oneofs must not have labels (required / optional / repeated)",
                ));
            }
            let mut sink = Sink::message(m, path);
            self.field(&mut sink, FieldContext::Oneof(index))?;
            fields += 1;
        }
        if fields == 0 {
            return Err(self.error_at(d.start, "a oneof must have at least one field"));
        }
        self.close_body("at the end of the oneof")
    }

    /// `extensions 100 to 199, 500 to max [options];`
    pub(super) fn extensions(
        &mut self,
        m: &mut DescriptorProto,
        path: &[i32],
    ) -> Result<(), Error> {
        self.advance();
        let first = m.extension_range.len();
        loop {
            let (start, end) = self.range("extension number", 1, MAX_FIELD_NUMBER)?;
            m.extension_range.push(descriptor_proto::ExtensionRange {
                start: Some(start),
                end: Some(end + 1),
                ..Default::default()
            });
            if !self.try_consume(",") {
                break;
            }
        }
        if self.at("[") {
            // The options go to every range of the statement.
            let statements = self.options.len();
            let range_path = child(path, 5, first);
            self.bracket_options(OptionsOf::ExtensionRange, &range_path, None)?;
            let written: Vec<OptionStatement> = self.options[statements..].to_vec();
            for i in first + 1..m.extension_range.len() {
                for o in &written {
                    let mut o = o.clone();
                    o.target = child(path, 5, i);
                    self.options.push(o);
                }
            }
        }
        self.end_statement("after the extension ranges")
    }

    /// `reserved 2, 9 to 11;` or `reserved "a", "b";` (editions: `reserved a, b;`).
    pub(super) fn message_reserved(&mut self, m: &mut DescriptorProto) -> Result<(), Error> {
        self.advance();
        if self.current().kind == Kind::Str || self.current().kind == Kind::Ident {
            m.reserved_name.extend(self.reserved_names()?);
        } else {
            loop {
                let (start, end) = self.range("field number", 1, MAX_FIELD_NUMBER)?;
                m.reserved_range.push(descriptor_proto::ReservedRange {
                    start: Some(start),
                    end: Some(end + 1),
                    ..Default::default()
                });
                if !self.try_consume(",") {
                    break;
                }
            }
        }
        self.end_statement("after the reserved numbers or names")
    }

    pub(super) fn reserved_names(&mut self) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        loop {
            let c = self.current();
            let name = match (c.kind, self.syntax) {
                (Kind::Str, Syntax::Editions) => {
                    return Err(self.error(
                        "reserved names must be identifiers in editions, not string literals",
                    ));
                }
                (Kind::Str, _) => self.utf8_string("a reserved name")?.0,
                (Kind::Ident, Syntax::Editions) => self.identifier("a reserved name")?.0,
                (Kind::Ident, _) => {
                    return Err(self.error(
                        "reserved names must be string literals (identifiers are for editions)",
                    ));
                }
                _ => {
                    return Err(
                        self.error(format!("expected a reserved name, found {}", self.found()))
                    );
                }
            };
            names.push(name);
            if !self.try_consume(",") {
                return Ok(names);
            }
        }
    }

    // ---- fields --------------------------------------------------------

    /// `extend Type { fields }`.
    pub(super) fn extend(&mut self, sink: &mut Sink<'_>) -> Result<(), Error> {
        self.advance(); // `extend`
        let (extendee, at) = self.dotted("the extended type", true)?;
        self.open_body(None, "after the extended type")?;
        let mut fields = 0;
        while self.in_body("extend block")? {
            let context = FieldContext::Extend {
                extendee: extendee.clone(),
                at,
            };
            self.field(sink, context)?;
            fields += 1;
        }
        if fields == 0 {
            return Err(self.error_at(at, "an extend block must declare at least one field"));
        }
        self.close_body("at the end of the extend block")
    }

    /// A field, a map field or a group, in a message, a oneof or an
    /// `extend` block.
    pub(super) fn field(
        &mut self,
        sink: &mut Sink<'_>,
        context: FieldContext,
    ) -> Result<(), Error> {
        let field_path = child(sink.fields_at.0, sink.fields_at.1, sink.fields.len());
        let start = pos(self.current());
        let mut f = FieldDescriptorProto::default();
        let c = self.current();
        let label = (c.kind == Kind::Ident
            && matches!(c.text, "required" | "optional" | "repeated"))
        .then(|| {
            self.advance();
            (c.text, pos(c))
        });
        match (label, self.syntax) {
            (Some(("required", at)), Syntax::Proto3) => {
                return Err(self.error_at(at, "required fields are not allowed in proto3"));
            }
            (Some((written @ ("required" | "optional"), at)), Syntax::Editions) => {
                return Err(self.error_at(
                    at,
                    format!(
                        "label `{written}` is not supported in editions: singular fields have \
                         explicit presence unless `features.field_presence` says otherwise"
                    ),
                ));
            }
            _ => {}
        }
        f.label = Some(match label {
            Some(("repeated", _)) => Label::Repeated,
            Some(("required", _)) => Label::Required,
            _ => Label::Optional,
        });
        if label.is_some_and(|l| l.0 == "optional") && self.syntax == Syntax::Proto3 {
            f.proto3_optional = Some(true);
        }
        let extending = matches!(context, FieldContext::Extend { .. });
        if self.at("map") && label.is_none() {
            let map_at = pos(self.current());
            self.advance();
            if self.at("<") {
                if extending {
                    return Err(self.error_at(map_at, "map fields can't be extensions"));
                }
                return self.map_field(sink, field_path, start, map_at, context);
            }
            let ty = TypeRef::Named(self.rest_of_name("map")?, map_at);
            return self.plain_field(sink, f, ty, field_path, start, context, label.is_some());
        }
        if self.at("group") {
            let group_at = pos(self.current());
            self.advance();
            if self.current().kind == Kind::Ident {
                let d = Declaration {
                    path: field_path,
                    start,
                };
                return self.group(sink, f, d, group_at, context, label.is_some());
            }
            let ty = TypeRef::Named(self.rest_of_name("group")?, group_at);
            return self.plain_field(sink, f, ty, field_path, start, context, label.is_some());
        }
        let ty = self.type_ref()?;
        self.plain_field(sink, f, ty, field_path, start, context, label.is_some())
    }

    /// A type name that starts with `first`, already consumed.
    pub(super) fn rest_of_name(&mut self, first: &str) -> Result<String, Error> {
        let mut name = first.to_owned();
        while self.try_consume(".") {
            name.push('.');
            name.push_str(&self.identifier("a type")?.0);
        }
        Ok(name)
    }

    pub(super) fn type_ref(&mut self) -> Result<TypeRef, Error> {
        let c = self.current();
        if c.kind == Kind::Ident {
            if let Some(t) = scalar_type(c.text) {
                self.advance();
                return Ok(TypeRef::Scalar(t));
            }
        }
        let (name, at) = self.dotted("a type", true)?;
        Ok(TypeRef::Named(name, at))
    }

    pub(super) fn check_label(
        &self,
        has_label: bool,
        context: &FieldContext,
        at: Pos,
    ) -> Result<(), Error> {
        if has_label || self.syntax != Syntax::Proto2 || matches!(context, FieldContext::Oneof(_)) {
            return Ok(());
        }
        Err(self.error_at(
            at,
            "expected `required`, `optional` or `repeated`: proto2 fields have a label",
        ))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn plain_field(
        &mut self,
        sink: &mut Sink<'_>,
        mut f: FieldDescriptorProto,
        ty: TypeRef,
        field_path: Vec<i32>,
        start: Pos,
        context: FieldContext,
        has_label: bool,
    ) -> Result<(), Error> {
        self.check_label(has_label, &context, start)?;
        self.positions.insert(field_path.clone(), start);
        match ty {
            TypeRef::Scalar(t) => f.r#type = Some(t),
            TypeRef::Named(name, at) => {
                self.positions.insert(with(&field_path, 6), at);
                f.type_name = Some(name);
            }
        }
        f.name = Some(self.identifier("the field name")?.0);
        self.expect("=", "after the field name")?;
        f.number = Some(self.number("a field number", false)?.0);
        let d = Declaration {
            path: field_path,
            start,
        };
        self.field_options(&mut f, &d, &context)?;
        sink.fields.push(f);
        self.end_element(&d, "after the field")
    }

    /// Where a field goes, and its `[...]` options.
    pub(super) fn field_options(
        &mut self,
        f: &mut FieldDescriptorProto,
        d: &Declaration,
        context: &FieldContext,
    ) -> Result<(), Error> {
        match context {
            FieldContext::Oneof(index) => {
                f.oneof_index = Some(i32::try_from(*index).unwrap_or(i32::MAX));
            }
            FieldContext::Extend { extendee, at } => {
                self.positions.insert(with(&d.path, 2), *at);
                f.extendee = Some(extendee.clone());
            }
            FieldContext::Message => {}
        }
        self.bracket_options(OptionsOf::Field, &d.path, Some(f))
    }

    /// `map<K, V> name = N [options];`: a repeated field of a nested
    /// `NameEntry` message.
    pub(super) fn map_field(
        &mut self,
        sink: &mut Sink<'_>,
        field_path: Vec<i32>,
        start: Pos,
        map_at: Pos,
        context: FieldContext,
    ) -> Result<(), Error> {
        if let FieldContext::Oneof(_) = context {
            return Err(self.error_at(map_at, "map fields are not allowed in oneofs"));
        }
        self.advance(); // `<`
        let key_at = pos(self.current());
        let key_type = match self.type_ref()? {
            TypeRef::Scalar(t) if !matches!(t, Type::Float | Type::Double | Type::Bytes) => t,
            _ => {
                return Err(self.error_at(
                    key_at,
                    "a map's key must be an integer, bool or string type",
                ));
            }
        };
        self.expect(",", "between the map's key and value types")?;
        let value = self.type_ref()?;
        self.expect(">", "after the map's value type")?;
        let name = self.identifier("the field name")?.0;
        self.expect("=", "after the field name")?;
        let number = self.number("a field number", false)?.0;
        let entry_name = map_entry_name(&name);
        let entry_path = child(sink.types_at.0, sink.types_at.1, sink.types.len());
        let mut value_field = FieldDescriptorProto {
            name: Some("value".to_owned()),
            number: Some(2),
            label: Some(Label::Optional),
            ..Default::default()
        };
        match value {
            TypeRef::Scalar(t) => value_field.r#type = Some(t),
            TypeRef::Named(n, at) => {
                self.positions
                    .insert(with(&child(&entry_path, 2, 1), 6), at);
                value_field.type_name = Some(n);
            }
        }
        sink.types.push(DescriptorProto {
            name: Some(entry_name.clone()),
            field: vec![
                FieldDescriptorProto {
                    name: Some("key".to_owned()),
                    number: Some(1),
                    label: Some(Label::Optional),
                    r#type: Some(key_type),
                    ..Default::default()
                },
                value_field,
            ],
            options: Some(MessageOptions {
                map_entry: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        });
        self.positions.insert(with(&field_path, 6), map_at);
        self.positions.insert(field_path.clone(), start);
        let mut f = FieldDescriptorProto {
            name: Some(name),
            number: Some(number),
            label: Some(Label::Repeated),
            type_name: Some(entry_name),
            ..Default::default()
        };
        let d = Declaration {
            path: field_path,
            start,
        };
        self.field_options(&mut f, &d, &context)?;
        sink.fields.push(f);
        self.end_element(&d, "after the field")
    }

    /// `[label] group Name = N [options] { ... }`: a field of type `Name`,
    /// a message declared beside it (beside the extend block, for an
    /// extension), which gets the declaration's comments.
    pub(super) fn group(
        &mut self,
        sink: &mut Sink<'_>,
        mut f: FieldDescriptorProto,
        d: Declaration,
        group_at: Pos,
        context: FieldContext,
        has_label: bool,
    ) -> Result<(), Error> {
        match self.syntax {
            Syntax::Editions => {
                return Err(self.error_at(
                    group_at,
                    "groups are not supported in editions: use a message field with \
                     `features.message_encoding = DELIMITED`",
                ));
            }
            Syntax::Proto3 => {
                return Err(self.error_at(group_at, "groups are not supported in proto3"));
            }
            Syntax::Proto2 => {}
        }
        self.check_label(has_label, &context, d.start)?;
        let (name, name_at) = self.identifier("the group name")?;
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Err(self.error_at(name_at, "a group's name must start with a capital letter"));
        }
        self.expect("=", "after the group name")?;
        f.name = Some(name.to_ascii_lowercase());
        f.number = Some(self.number("a field number", false)?.0);
        f.r#type = Some(Type::Group);
        f.type_name = Some(name.clone());
        self.positions.insert(with(&d.path, 6), name_at);
        self.positions.insert(d.path.clone(), d.start);
        self.field_options(&mut f, &d, &context)?;
        sink.fields.push(f);
        let group_path = child(sink.types_at.0, sink.types_at.1, sink.types.len());
        let group = self.declaration(group_path.clone());
        let group = Declaration {
            start: d.start,
            ..group
        };
        let mut body = DescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(Some(&group), "after the group")?;
        self.message_body(&mut body, &group_path)?;
        self.close_body("at the end of the group")?;
        sink.types.push(body);
        Ok(())
    }
}

/// Where the fields and the types a statement declares go: a message's
/// fields and nested types, or, in an `extend` block, the extensions and
/// types of the scope around it. `*_at`: the path of that scope and the
/// descriptor field that holds the list.
pub(super) struct Sink<'x> {
    pub(super) fields: &'x mut Vec<FieldDescriptorProto>,
    pub(super) fields_at: (&'x [i32], i32),
    pub(super) types: &'x mut Vec<DescriptorProto>,
    pub(super) types_at: (&'x [i32], i32),
}

impl<'x> Sink<'x> {
    pub(super) fn message(m: &'x mut DescriptorProto, path: &'x [i32]) -> Self {
        Self {
            fields: &mut m.field,
            fields_at: (path, 2),
            types: &mut m.nested_type,
            types_at: (path, 3),
        }
    }
}

/// Where a field is declared.
#[derive(Clone, Debug)]
pub(super) enum FieldContext {
    Message,
    /// In the oneof at this index.
    Oneof(usize),
    /// In an `extend` block of this type (as written, and where).
    Extend {
        extendee: String,
        at: Pos,
    },
}

/// protoc's name for a map field's entry message: `foo_bar` → `FooBarEntry`.
pub(crate) fn map_entry_name(field: &str) -> String {
    super::super::literal::camel_case(field, true) + "Entry"
}

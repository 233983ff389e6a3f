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
        let name = self.name_of(&d, "the message name")?;
        let mut m = DescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(d.loc, "after the message name")?;
        self.message_body(&mut m, &d.path)?;
        self.close_body("at the end of the message")?;
        self.close(d.loc);
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
                "reserved" => self.message_reserved(m, path)?,
                "extend" => {
                    let mut sink = Sink {
                        fields: &mut m.extension,
                        fields_at: (path, 6),
                        types: &mut m.nested_type,
                        types_at: (path, 3),
                    };
                    self.extend(&mut sink, with(path, 6))?;
                }
                "option" => {
                    self.option_statement(OptionsOf::Message, path.to_vec(), with(path, 7))?;
                }
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
        let name = self.name_of(&d, "the oneof name")?;
        m.oneof_decl.push(OneofDescriptorProto {
            name: Some(name),
            ..Default::default()
        });
        self.open_body(d.loc, "after the oneof name")?;
        let mut fields = 0;
        while self.in_body("oneof")? {
            let c = self.current();
            if self.at("option") {
                self.option_statement(OptionsOf::Oneof, d.path.clone(), with(&d.path, 2))?;
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
        self.close_body("at the end of the oneof")?;
        self.close(d.loc);
        Ok(())
    }

    /// `extensions 100 to 199, 500 to max [options];`
    pub(super) fn extensions(
        &mut self,
        m: &mut DescriptorProto,
        path: &[i32],
    ) -> Result<(), Error> {
        let statement = self.open(with(path, 5));
        self.advance();
        let first = m.extension_range.len();
        loop {
            let range_path = child(path, 5, m.extension_range.len());
            let (start, end) = self.range("extension number", 1, MAX_FIELD_NUMBER, range_path)?;
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
            // The options go to every range of the statement, and so do
            // their locations (protoc records them for the first range,
            // then copies them with each range's index).
            let statements = self.options.len();
            let records = self.records.len();
            let range_path = child(path, 5, first);
            self.bracket_options(
                OptionsOf::ExtensionRange,
                &range_path,
                with(&range_path, 3),
                None,
            )?;
            let written: Vec<OptionStatement> = self.options[statements..].to_vec();
            let copied: Vec<Record> = self.records[records..].to_vec();
            let index_at = path.len() + 1;
            for i in first + 1..m.extension_range.len() {
                let index = i32::try_from(i).unwrap_or(i32::MAX);
                let base = self.records.len();
                for r in &copied {
                    let mut r = r.clone();
                    if let Some(slot) = r.path.get_mut(index_at) {
                        *slot = index;
                    }
                    self.records.push(r);
                }
                for o in &written {
                    let mut o = o.clone();
                    o.target = child(path, 5, i);
                    o.location = base + (o.location - records);
                    o.among = base + (o.among - records);
                    self.options.push(o);
                }
            }
        }
        self.end_statement(statement, "after the extension ranges")?;
        self.close(statement);
        Ok(())
    }

    /// `reserved 2, 9 to 11;` or `reserved "a", "b";` (editions: `reserved a, b;`).
    pub(super) fn message_reserved(
        &mut self,
        m: &mut DescriptorProto,
        path: &[i32],
    ) -> Result<(), Error> {
        let start = pos(self.current());
        self.advance();
        let statement;
        if self.current().kind == Kind::Str || self.current().kind == Kind::Ident {
            statement = self.open_at(with(path, 10), start);
            let names = self.reserved_names(&with(path, 10), m.reserved_name.len())?;
            m.reserved_name.extend(names);
        } else {
            statement = self.open_at(with(path, 9), start);
            loop {
                let range_path = child(path, 9, m.reserved_range.len());
                let (start, end) = self.range("field number", 1, MAX_FIELD_NUMBER, range_path)?;
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
        self.end_statement(statement, "after the reserved numbers or names")?;
        self.close(statement);
        Ok(())
    }

    /// Reserved names, each recorded at `path` + its index (from `first`).
    pub(super) fn reserved_names(
        &mut self,
        path: &[i32],
        first: usize,
    ) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        loop {
            let c = self.current();
            let loc = self.open(indexed(path, first + names.len()));
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
            self.close(loc);
            names.push(name);
            if !self.try_consume(",") {
                return Ok(names);
            }
        }
    }

    // ---- fields --------------------------------------------------------

    /// `extend Type { fields }`, recorded at `path`.
    pub(super) fn extend(&mut self, sink: &mut Sink<'_>, path: Vec<i32>) -> Result<(), Error> {
        let loc = self.open(path);
        self.advance(); // `extend`
        let (extendee, at) = self.dotted("the extended type", true)?;
        let end = self.prev_end;
        self.open_body(loc, "after the extended type")?;
        let mut fields = 0;
        while self.in_body("extend block")? {
            let context = FieldContext::Extend {
                extendee: extendee.clone(),
                at,
                end,
            };
            self.field(sink, context)?;
            fields += 1;
        }
        if fields == 0 {
            return Err(self.error_at(at, "an extend block must declare at least one field"));
        }
        self.close_body("at the end of the extend block")?;
        self.close(loc);
        Ok(())
    }

    /// A field, a map field or a group, in a message, a oneof or an
    /// `extend` block. Its locations, in protoc's order: the field, the
    /// extendee, the label, the type, the name, the number, the options.
    pub(super) fn field(
        &mut self,
        sink: &mut Sink<'_>,
        context: FieldContext,
    ) -> Result<(), Error> {
        let d = self.declaration(child(sink.fields_at.0, sink.fields_at.1, sink.fields.len()));
        let mut f = FieldDescriptorProto::default();
        match &context {
            FieldContext::Oneof(index) => {
                f.oneof_index = Some(i32::try_from(*index).unwrap_or(i32::MAX));
            }
            FieldContext::Extend { extendee, at, end } => {
                self.positions.insert(with(&d.path, 2), *at);
                self.record_token(with(&d.path, 2), *at, *end);
                f.extendee = Some(extendee.clone());
            }
            FieldContext::Message => {}
        }
        let c = self.current();
        let label = (c.kind == Kind::Ident
            && matches!(c.text, "required" | "optional" | "repeated"))
        .then(|| {
            self.record_token(with(&d.path, 4), pos(c), (c.line, c.end_column));
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
        let has_label = label.is_some();
        let type_at = pos(self.current());
        let type_loc = self.open(Vec::new());
        if self.at("map") && !has_label {
            self.advance();
            if self.at("<") {
                if matches!(context, FieldContext::Extend { .. }) {
                    return Err(self.error_at(type_at, "map fields can't be extensions"));
                }
                return self.map_field(sink, d, type_loc, context);
            }
            let ty = TypeRef::Named(self.rest_of_name("map")?, type_at);
            return self.plain_field(sink, f, ty, d, type_loc, context, has_label);
        }
        if self.at("group") {
            self.advance();
            if self.current().kind == Kind::Ident {
                self.records[type_loc].path = with(&d.path, 5);
                self.close(type_loc);
                return self.group(sink, f, d, type_at, context, has_label);
            }
            let ty = TypeRef::Named(self.rest_of_name("group")?, type_at);
            return self.plain_field(sink, f, ty, d, type_loc, context, has_label);
        }
        let ty = self.type_ref()?;
        self.plain_field(sink, f, ty, d, type_loc, context, has_label)
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

    /// The name, `=` and number of a field, recorded at its path + `1` and
    /// `3`.
    fn name_and_number(&mut self, d: &Declaration) -> Result<(String, i32, Pos), Error> {
        let name_at = pos(self.current());
        let name = self.name_of(d, "the field name")?;
        self.expect("=", "after the field name")?;
        let loc = self.open(with(&d.path, 3));
        let number = self.number("a field number", false)?.0;
        self.close(loc);
        Ok((name, number, name_at))
    }

    /// A field of type `ty`, whose type's location (`type_loc`, opened
    /// where the type starts) gets its path here.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn plain_field(
        &mut self,
        sink: &mut Sink<'_>,
        mut f: FieldDescriptorProto,
        ty: TypeRef,
        d: Declaration,
        type_loc: usize,
        context: FieldContext,
        has_label: bool,
    ) -> Result<(), Error> {
        self.check_label(has_label, &context, d.start)?;
        match ty {
            TypeRef::Scalar(t) => {
                self.records[type_loc].path = with(&d.path, 5);
                f.r#type = Some(t);
            }
            TypeRef::Named(name, at) => {
                self.records[type_loc].path = with(&d.path, 6);
                self.positions.insert(with(&d.path, 6), at);
                f.type_name = Some(name);
            }
        }
        self.close(type_loc);
        let (name, number, _) = self.name_and_number(&d)?;
        f.name = Some(name);
        f.number = Some(number);
        self.bracket_options(OptionsOf::Field, &d.path, with(&d.path, 8), Some(&mut f))?;
        sink.fields.push(f);
        self.end_element(&d, "after the field")
    }

    /// `map<K, V> name = N [options];`: a repeated field of a nested
    /// `NameEntry` message. `type_loc` was opened at `map`.
    pub(super) fn map_field(
        &mut self,
        sink: &mut Sink<'_>,
        d: Declaration,
        type_loc: usize,
        context: FieldContext,
    ) -> Result<(), Error> {
        let map_at = self.records[type_loc].start;
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
        self.records[type_loc].path = with(&d.path, 6);
        self.close(type_loc);
        let (name, number, _) = self.name_and_number(&d)?;
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
        self.positions.insert(with(&d.path, 6), map_at);
        let mut f = FieldDescriptorProto {
            name: Some(name),
            number: Some(number),
            label: Some(Label::Repeated),
            type_name: Some(entry_name.clone()),
            ..Default::default()
        };
        self.bracket_options(OptionsOf::Field, &d.path, with(&d.path, 8), Some(&mut f))?;
        sink.fields.push(f);
        // protoc adds the entry after the field's options, and records no
        // location for it.
        sink.types.push(DescriptorProto {
            name: Some(entry_name),
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
        let name_token = self.current();
        let (name, number, name_at) = self.name_and_number(&d)?;
        if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
            return Err(self.error_at(name_at, "a group's name must start with a capital letter"));
        }
        f.name = Some(name.to_ascii_lowercase());
        f.number = Some(number);
        f.r#type = Some(Type::Group);
        f.type_name = Some(name.clone());
        self.positions.insert(with(&d.path, 6), name_at);
        self.bracket_options(OptionsOf::Field, &d.path, with(&d.path, 8), Some(&mut f))?;
        sink.fields.push(f);
        // The group's message: from the field's start, its name the field's
        // name token, which is the field's type name too.
        let group_path = child(sink.types_at.0, sink.types_at.1, sink.types.len());
        self.positions.insert(group_path.clone(), d.start);
        let loc = self.open_at(group_path.clone(), d.start);
        let name_end = (name_token.line, name_token.end_column);
        self.record_token(with(&group_path, 1), name_at, name_end);
        self.record_token(with(&d.path, 6), name_at, name_end);
        let mut body = DescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(loc, "after the group")?;
        self.message_body(&mut body, &group_path)?;
        self.close_body("at the end of the group")?;
        self.close(loc);
        self.close(d.loc);
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
    /// In an `extend` block of this type (as written, where it starts and
    /// where it ends).
    Extend {
        extendee: String,
        at: Pos,
        end: (usize, usize),
    },
}

/// protoc's name for a map field's entry message: `foo_bar` → `FooBarEntry`.
pub(crate) fn map_entry_name(field: &str) -> String {
    super::super::literal::camel_case(field, true) + "Entry"
}

//! Enums and services.

use rust_rpc::wkt::{
    EnumDescriptorProto, EnumValueDescriptorProto, MethodDescriptorProto, MethodOptions,
    ServiceDescriptorProto, enum_descriptor_proto,
};

use super::super::tokenizer::Kind;
use super::*;
use crate::Error;

impl Parser<'_> {
    // ---- enums ----------------------------------------------------------

    pub(super) fn enumeration(&mut self, d: Declaration) -> Result<EnumDescriptorProto, Error> {
        self.advance(); // `enum`
        let name = self.name_of(&d, "the enum name")?;
        let mut e = EnumDescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(d.loc, "after the enum name")?;
        while self.in_body("enum")? {
            let c = self.current();
            if c.kind == Kind::Ident && c.text == "option" {
                self.option_statement(OptionsOf::Enum, d.path.clone(), with(&d.path, 3))?;
                continue;
            }
            if c.kind == Kind::Ident && c.text == "reserved" {
                self.enum_reserved(&mut e, &d.path)?;
                continue;
            }
            let value_d = self.declaration(child(&d.path, 2, e.value.len()));
            let name = self.name_of(&value_d, "an enum value name")?;
            self.expect("=", "after the enum value name")?;
            let loc = self.open(with(&value_d.path, 2));
            let (number, _) = self.number("an enum value number", true)?;
            self.close(loc);
            let v = EnumValueDescriptorProto {
                name: Some(name),
                number: Some(number),
                ..Default::default()
            };
            let options = with(&value_d.path, 3);
            self.bracket_options(OptionsOf::EnumValue, &value_d.path, options, None)?;
            e.value.push(v);
            self.end_element(&value_d, "after the enum value")?;
        }
        if e.value.is_empty() {
            return Err(self.error_at(d.start, "an enum must have at least one value"));
        }
        self.close_body("at the end of the enum")?;
        self.close(d.loc);
        Ok(e)
    }

    /// `reserved -1, 5 to max;` or names.
    pub(super) fn enum_reserved(
        &mut self,
        e: &mut EnumDescriptorProto,
        path: &[i32],
    ) -> Result<(), Error> {
        let start = pos(self.current());
        self.advance();
        let statement;
        if matches!(self.current().kind, Kind::Str | Kind::Ident) && !self.at("-") {
            statement = self.open_at(with(path, 5), start);
            let names = self.reserved_names(&with(path, 5), e.reserved_name.len())?;
            e.reserved_name.extend(names);
        } else {
            statement = self.open_at(with(path, 4), start);
            loop {
                let range_path = child(path, 4, e.reserved_range.len());
                let (start, end) =
                    self.range("enum value number", i32::MIN, i32::MAX, range_path)?;
                e.reserved_range
                    .push(enum_descriptor_proto::EnumReservedRange {
                        start: Some(start),
                        end: Some(end),
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

    // ---- services ----------------------------------------------------------

    pub(super) fn service(&mut self, d: Declaration) -> Result<ServiceDescriptorProto, Error> {
        self.advance(); // `service`
        let name = self.name_of(&d, "the service name")?;
        let mut s = ServiceDescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        self.open_body(d.loc, "after the service name")?;
        while self.in_body("service")? {
            let c = self.current();
            match (c.kind, c.text) {
                (Kind::Ident, "option") => {
                    self.option_statement(OptionsOf::Service, d.path.clone(), with(&d.path, 3))?;
                }
                (Kind::Ident, "rpc") => {
                    let method_d = self.declaration(child(&d.path, 2, s.method.len()));
                    let m = self.method(&method_d)?;
                    s.method.push(m);
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `rpc` or `option` in the service, found {}",
                        self.found()
                    )));
                }
            }
        }
        self.close_body("at the end of the service")?;
        self.close(d.loc);
        Ok(s)
    }

    pub(super) fn method(&mut self, d: &Declaration) -> Result<MethodDescriptorProto, Error> {
        self.advance(); // `rpc`
        let name = self.name_of(d, "the method name")?;
        let mut m = MethodDescriptorProto {
            name: Some(name),
            ..Default::default()
        };
        for (field, keyword) in [(2, "("), (3, "returns")] {
            if field == 3 {
                self.expect("returns", "after the request type")?;
                self.expect("(", "after `returns`")?;
            } else {
                self.expect(keyword, "after the method name")?;
            }
            let streaming = self.at("stream");
            if streaming {
                // client_streaming (5), server_streaming (6)
                let loc = self.open(with(&d.path, field + 3));
                self.advance();
                self.close(loc);
            }
            let loc = self.open(with(&d.path, field));
            let (ty, at) = self.dotted("a message type", true)?;
            self.close(loc);
            self.positions.insert(with(&d.path, field), at);
            self.expect(")", "after the type")?;
            if field == 2 {
                m.input_type = Some(ty);
                if streaming {
                    m.client_streaming = Some(true);
                }
            } else {
                m.output_type = Some(ty);
                if streaming {
                    m.server_streaming = Some(true);
                }
            }
        }
        if self.at("{") {
            // protoc gives a method written with a body options, even empty.
            m.options = Some(MethodOptions::default());
            self.open_body(d.loc, "after the method")?;
            while self.in_body("method")? {
                let c = self.current();
                if !(c.kind == Kind::Ident && c.text == "option") {
                    return Err(self.error(format!(
                        "expected `option` in the method's body, found {}",
                        self.found()
                    )));
                }
                self.option_statement(OptionsOf::Method, d.path.clone(), with(&d.path, 4))?;
            }
            self.close_body("at the end of the method")?;
            self.close(d.loc);
            Ok(m)
        } else {
            self.end_element(d, "after the method")?;
            Ok(m)
        }
    }
}

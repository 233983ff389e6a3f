//! `google.protobuf.Any` in the text format: expanded as
//! `[type.googleapis.com/pkg.Msg] { ... }` when its type is known (a
//! well-known type, or in the options' registry), else its two fields as
//! they are (`type_url: "..." value: "..."`). Both forms read back.

use super::{TextError, TextMessage, TextReader, TextValue, TextWriter};
use crate::json::FieldSet;
use crate::json::registry::any_type;
use crate::wkt::Any;

impl TextMessage for Any {
    fn write_text_fields(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        if !self.type_url.is_empty() {
            if let Some(t) = any_type(w.options().types.as_deref(), &self.type_url) {
                let name = format!("[{}]", self.type_url);
                return w.field_with(&name, true, |w| (t.write_text)(&self.value, w));
            }
        }
        w.implicit("type_url", &self.type_url)?;
        w.implicit("value", &self.value)?;
        w.unknown_fields(&self.unknown_fields)
    }

    fn merge_text_field(
        &mut self,
        name: &str,
        r: &mut TextReader<'_>,
        seen: &mut FieldSet,
    ) -> Result<bool, TextError> {
        match name {
            "type_url" => r.singular(seen, 0, "type_url", &mut self.type_url)?,
            "value" => r.singular(seen, 1, "value", &mut self.value)?,
            _ => {
                let Some(url) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) else {
                    return Ok(false);
                };
                if !url.contains('/') {
                    return Ok(false);
                }
                if !seen.insert(2) {
                    return Err(r.key_error("an Any holds one expanded message"));
                }
                let Some(t) = any_type(r.options().types.as_deref(), url) else {
                    return Err(r.key_error(format!(
                        "the Any's type {url:?} is not in the text options' type registry"
                    )));
                };
                r.skip_colon();
                self.value = (t.read_text)(r).map_err(|e| e.in_field("value"))?;
                self.type_url = url.to_owned();
            }
        }
        Ok(true)
    }
}

impl TextValue for Any {
    const IS_MESSAGE: bool = true;
    fn write_text(&self, w: &mut TextWriter<'_>) -> Result<(), TextError> {
        w.message(self)
    }
    fn read_text(r: &mut TextReader<'_>) -> Result<Self, TextError> {
        let mut m = Self::default();
        r.message(&mut m)?;
        Ok(m)
    }
}

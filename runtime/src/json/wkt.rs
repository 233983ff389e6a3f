//! The well-known types' special JSON forms, as the JSON mapping gives
//! them: `Timestamp` (RFC 3339), `Duration` (`"1.5s"`), `FieldMask`
//! (`"a.b,cD"`), the wrappers (their bare value), `Struct`, `Value` and
//! `ListValue` (any JSON), `NullValue` (`null`) and `Any` (`@type` and the
//! packed message's fields, or `value` for a packed well-known type).
//! `Empty` and the others have no special form: they are generated.

use super::read::Kind as JsonKind;
use super::registry::AnyType;
use super::{JsonError, JsonReader, JsonValue, JsonWriter, field_mask, time};
use crate::enumeration::OpenEnum;
use crate::wkt::{
    Any, BoolValue, BytesValue, DoubleValue, Duration, FieldMask, FloatValue, Int32Value,
    Int64Value, ListValue, NullValue, StringValue, Struct, Timestamp, UInt32Value, UInt64Value,
    Value, value::Kind,
};

/// Reads a JSON string and parses it with `parse`, an error naming `what`
/// pointing at the string.
fn parsed<T>(
    r: &mut JsonReader<'_>,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<T, JsonError> {
    let at = r.mark();
    let s = r.string()?;
    parse(&s).map_err(|why| {
        r.rewind(at);
        r.error(format!("{s:?} is not a {what}: {why}"))
    })
}

/// Writes a string whose text `write` appends (checked, so it can fail).
fn quoted(
    w: &mut JsonWriter<'_>,
    write: impl FnOnce(&mut String) -> Result<(), &'static str>,
) -> Result<(), JsonError> {
    let out = w.out();
    out.push('"');
    write(out).map_err(JsonError::new)?;
    out.push('"');
    Ok(())
}

impl JsonValue for Timestamp {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        quoted(w, |out| {
            time::write_timestamp(out, self.seconds, self.nanos)
        })
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        let (seconds, nanos) = parsed(r, "timestamp", time::parse_timestamp)?;
        Ok(Some(Self {
            seconds,
            nanos,
            ..Default::default()
        }))
    }
}

impl JsonValue for Duration {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        quoted(w, |out| time::write_duration(out, self.seconds, self.nanos))
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        let (seconds, nanos) = parsed(r, "duration", time::parse_duration)?;
        Ok(Some(Self {
            seconds,
            nanos,
            ..Default::default()
        }))
    }
}

impl JsonValue for FieldMask {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        quoted(w, |out| field_mask::write_field_mask(out, &self.paths))
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        let paths = parsed(r, "field mask", field_mask::parse_field_mask)?;
        Ok(Some(Self {
            paths,
            ..Default::default()
        }))
    }
}

macro_rules! wrappers {
    ($($t:ty),*) => {$(
        impl JsonValue for $t {
            fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
                self.value.write_json(w)
            }
            fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
                Ok(JsonValue::read_json(r)?.map(|value| Self { value, ..Default::default() }))
            }
        }
    )*};
}

wrappers!(
    DoubleValue,
    FloatValue,
    Int64Value,
    UInt64Value,
    Int32Value,
    UInt32Value,
    BoolValue,
    StringValue,
    BytesValue
);

impl JsonValue for NullValue {
    const NULL_IS_VALUE: bool = true;
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.null();
        Ok(())
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        if r.peek_null()? {
            return Ok(Some(NullValue::NullValue));
        }
        Ok(super::read_enum::<NullValue>(r, false)?.and_then(OpenEnum::known))
    }
    fn is_default_json(&self) -> bool {
        true
    }
}

impl JsonValue for Value {
    const NULL_IS_VALUE: bool = true;
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        match &self.kind {
            Some(Kind::NullValue(_)) => {
                w.null();
                Ok(())
            }
            Some(Kind::NumberValue(n)) if !n.is_finite() => Err(JsonError::new(
                "a google.protobuf.Value cannot hold NaN or an infinity",
            )),
            Some(Kind::NumberValue(n)) => {
                w.double(*n);
                Ok(())
            }
            Some(Kind::StringValue(s)) => {
                w.string(s);
                Ok(())
            }
            Some(Kind::BoolValue(b)) => {
                w.bool(*b);
                Ok(())
            }
            Some(Kind::StructValue(s)) => s.write_json(w),
            Some(Kind::ListValue(l)) => l.write_json(w),
            None => Err(JsonError::new("a google.protobuf.Value with no kind set")),
        }
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        let kind = match r.peek_kind()? {
            JsonKind::Null => {
                r.peek_null()?;
                Kind::NullValue(OpenEnum::Known(NullValue::NullValue))
            }
            JsonKind::Bool => Kind::BoolValue(r.bool()?),
            JsonKind::Number => {
                let at = r.mark();
                let text = r.number()?;
                match text.parse::<f64>() {
                    Ok(n) if n.is_finite() => Kind::NumberValue(n),
                    _ => {
                        r.rewind(at);
                        return Err(r.error(format!("{text}: out of range for a double")));
                    }
                }
            }
            JsonKind::String => Kind::StringValue(r.string()?.into_owned()),
            JsonKind::Array => Kind::ListValue(read_list(r)?),
            JsonKind::Object => Kind::StructValue(read_struct(r)?),
        };
        Ok(Some(Self {
            kind: Some(kind),
            ..Default::default()
        }))
    }
}

fn read_list(r: &mut JsonReader<'_>) -> Result<ListValue, JsonError> {
    let mut list = ListValue::default();
    r.list(&mut list.values)?;
    Ok(list)
}

fn read_struct(r: &mut JsonReader<'_>) -> Result<Struct, JsonError> {
    let mut s = Struct::default();
    r.map_object(&mut s.fields)?;
    Ok(s)
}

impl JsonValue for ListValue {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.list(&self.values)
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        read_list(r).map(Some)
    }
}

impl JsonValue for Struct {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        w.map_object(&self.fields)
    }
    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        read_struct(r).map(Some)
    }
}

/// The JSON forms of the well-known types an `Any` may hold without a
/// registry, by full name.
pub(crate) fn well_known(name: &str) -> Option<AnyType> {
    Some(match name {
        "google.protobuf.Any" => AnyType::special::<Any>(),
        "google.protobuf.Timestamp" => AnyType::special::<Timestamp>(),
        "google.protobuf.Duration" => AnyType::special::<Duration>(),
        "google.protobuf.FieldMask" => AnyType::special::<FieldMask>(),
        "google.protobuf.Struct" => AnyType::special::<Struct>(),
        "google.protobuf.Value" => AnyType::special::<Value>(),
        "google.protobuf.ListValue" => AnyType::special::<ListValue>(),
        "google.protobuf.DoubleValue" => AnyType::special::<DoubleValue>(),
        "google.protobuf.FloatValue" => AnyType::special::<FloatValue>(),
        "google.protobuf.Int64Value" => AnyType::special::<Int64Value>(),
        "google.protobuf.UInt64Value" => AnyType::special::<UInt64Value>(),
        "google.protobuf.Int32Value" => AnyType::special::<Int32Value>(),
        "google.protobuf.UInt32Value" => AnyType::special::<UInt32Value>(),
        "google.protobuf.BoolValue" => AnyType::special::<BoolValue>(),
        "google.protobuf.StringValue" => AnyType::special::<StringValue>(),
        "google.protobuf.BytesValue" => AnyType::special::<BytesValue>(),
        "google.protobuf.Empty" => AnyType::fields::<crate::wkt::Empty>(),
        _ => return None,
    })
}

fn lookup(types: Option<&super::TypeRegistry>, url: &str) -> Result<AnyType, JsonError> {
    super::registry::any_type(types, url).ok_or_else(|| {
        JsonError::new(format!(
            "the Any's type {url:?} is not in the JSON options' type registry"
        ))
    })
}

impl JsonValue for Any {
    fn write_json(&self, w: &mut JsonWriter<'_>) -> Result<(), JsonError> {
        if self.type_url.is_empty() && self.value.is_empty() {
            w.raw("{}");
            return Ok(());
        }
        let t = lookup(w.options().types.as_deref(), &self.type_url)?;
        w.enter()?;
        let mut o = w.object();
        o.key("@type").string(&self.type_url);
        (t.write)(&self.value, &mut o)?;
        o.end();
        w.leave();
        Ok(())
    }

    fn read_json(r: &mut JsonReader<'_>) -> Result<Option<Self>, JsonError> {
        // `@type` may come anywhere in the object: find it first, then read
        // the object again as the type it names.
        let start = r.mark();
        r.begin_object()?;
        let mut first = true;
        let mut url = None;
        while let Some(key) = r.next_key(&mut first)? {
            if key == "@type" {
                let at = r.mark();
                if url.is_some() {
                    return Err(r.error("\"@type\" given more than once"));
                }
                let s = r.string()?;
                if s.is_empty() || !s.contains('/') {
                    r.rewind(at);
                    return Err(r.error(format!("{s:?} is not a type URL")));
                }
                url = Some(s.into_owned());
            } else {
                r.skip_value()?;
            }
        }
        let Some(url) = url else {
            if first {
                return Ok(Some(Any::default()));
            }
            r.rewind(start);
            return Err(r.error("an Any needs \"@type\""));
        };
        let end = r.mark();
        r.rewind(start);
        let t = lookup(r.options().types.as_deref(), &url)
            .map_err(|e| r.error(e.message().to_owned()))?;
        let value = (t.read)(r)?;
        debug_assert_eq!(r.mark(), end);
        Ok(Some(Any {
            type_url: url,
            value,
            ..Default::default()
        }))
    }
}

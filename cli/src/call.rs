//! Calling a method known only by its descriptors: requests from JSON to
//! bytes, responses from bytes to JSON, over the runtime's client, any of
//! the four kinds of call.

use std::time::Duration;

use rust_rpc::codegen::{BufMut, DecodeError, Decoder, Encoder, SizeCache};
use rust_rpc::json::{DescriptorPool, JsonOptions};
use rust_rpc::transport::{Client, Code, Request, Status, Streaming};
use rust_rpc::{Message, UnknownFields};

use crate::Failure;
use crate::schema::Method;

/// A message carried as its encoded bytes: it declares no fields, so
/// decoding keeps every field as unknown and encoding writes them back.
#[derive(Clone, Default, PartialEq, Debug)]
struct Raw(UnknownFields);

impl Raw {
    fn new(bytes: &[u8]) -> Self {
        let mut fields = UnknownFields::default();
        fields.push_raw(bytes);
        Raw(fields)
    }
}

impl Message for Raw {
    const NAME: &'static str = "rust_rpc.cli.Raw";
    const USES_SIZE_CACHE: bool = false;

    fn compute_size(&self, _: &mut SizeCache) -> usize {
        self.0.encoded_len()
    }

    fn write_to<B: BufMut + ?Sized>(&self, w: &mut Encoder<'_, B>) {
        w.put_raw(self.0.as_bytes());
    }

    fn merge_field(&mut self, _: u32, _: &mut Decoder<'_>) -> Result<bool, DecodeError> {
        Ok(false)
    }

    fn unknown_fields(&self) -> &UnknownFields {
        &self.0
    }

    fn unknown_fields_mut(&mut self) -> &mut UnknownFields {
        &mut self.0
    }
}

/// Splits `text` into its top-level JSON values (objects one after the
/// other, as a client stream's requests are given), without checking more
/// than their nesting: reading each as the request type checks the rest.
pub fn json_values(text: &str) -> Result<Vec<&str>, Failure> {
    let bad = |why: String| Failure::new(Code::InvalidArgument, format!("request data: {why}"));
    let b = text.as_bytes();
    let mut values = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return Ok(values);
        }
        if b[i] != b'{' {
            return Err(bad(format!("expected a JSON object at byte {i}")));
        }
        let start = i;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        while i < b.len() {
            let c = b[i];
            i += 1;
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if depth != 0 || in_string {
            return Err(bad(format!("the object at byte {start} is not closed")));
        }
        values.push(&text[start..i]);
    }
}

/// How to write and read the messages of one call.
pub struct Call<'a> {
    pub pool: &'a DescriptorPool,
    pub method: &'a Method,
    pub options: &'a JsonOptions,
    pub headers: &'a [(String, String)],
    pub timeout: Option<Duration>,
}

impl Call<'_> {
    fn request<T>(&self, message: T) -> Result<Request<T>, Failure> {
        let mut request = Request::new(message);
        for (k, v) in self.headers {
            request
                .metadata_mut()
                .append(k, v)
                .map_err(|e| Failure::new(Code::InvalidArgument, format!("header {k}: {e}")))?;
        }
        if let Some(t) = self.timeout {
            request.set_timeout(t);
        }
        Ok(request)
    }

    fn encode(&self, json: &str) -> Result<Raw, Failure> {
        let bytes = self
            .pool
            .from_json(&self.method.input, json, self.options)
            .map_err(|e| Failure::new(Code::InvalidArgument, format!("request: {e}")))?;
        Ok(Raw::new(&bytes))
    }

    fn print(&self, response: &Raw) -> Result<(), Failure> {
        let json = self
            .pool
            .to_json(&self.method.output, response.0.as_bytes(), self.options)
            .map_err(|e| Failure::new(Code::Internal, format!("response: {e}")))?;
        println!("{json}");
        Ok(())
    }

    async fn print_all(&self, mut responses: Streaming<Raw>) -> Result<(), Failure> {
        while let Some(r) = responses
            .message()
            .await
            .map_err(|s| Failure::from_status(&s))?
        {
            self.print(&r)?;
        }
        Ok(())
    }

    /// Makes the call with `requests` (JSON objects), printing each
    /// response as one line of JSON.
    pub async fn run(&self, client: &mut Client, requests: &[&str]) -> Result<(), Failure> {
        let path: &'static str = Box::leak(self.method.path.clone().into_boxed_str());
        let messages = requests
            .iter()
            .map(|r| self.encode(r))
            .collect::<Result<Vec<_>, _>>()?;
        let failed = |s: Status| Failure::from_status(&s);
        match (self.method.client_streaming, self.method.server_streaming) {
            (false, server_streaming) => {
                let [one] = <[Raw; 1]>::try_from(if messages.is_empty() {
                    vec![Raw::default()]
                } else {
                    messages
                })
                .map_err(|m| {
                    Failure::new(
                        Code::InvalidArgument,
                        format!("{path} takes one request, not {}", m.len()),
                    )
                })?;
                let request = self.request(one)?;
                if server_streaming {
                    let responses = client
                        .server_streaming::<Raw, Raw>(request, path)
                        .await
                        .map_err(failed)?;
                    self.print_all(responses.into_inner()).await
                } else {
                    let response = client
                        .unary::<Raw, Raw>(request, path)
                        .await
                        .map_err(failed)?;
                    self.print(&response.into_inner())
                }
            }
            (true, server_streaming) => {
                let request = self.request(futures_util::stream::iter(messages))?;
                if server_streaming {
                    let responses = client
                        .streaming::<_, Raw>(request, path)
                        .await
                        .map_err(failed)?;
                    self.print_all(responses.into_inner()).await
                } else {
                    let response = client
                        .client_streaming::<_, Raw>(request, path)
                        .await
                        .map_err(failed)?;
                    self.print(&response.into_inner())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_data_splits_into_objects() {
        let values = json_values(" {\"a\": \"}{\"} \n{\"b\": [1, {\"c\": 2}]}{} ").unwrap();
        assert_eq!(
            values,
            ["{\"a\": \"}{\"}", "{\"b\": [1, {\"c\": 2}]}", "{}"]
        );
        assert!(json_values("").unwrap().is_empty());
        assert!(json_values("[1]").is_err());
        assert!(json_values("{\"a\": 1").is_err());
        assert!(json_values("{\"a\": \"\\\"}").is_err());
    }

    #[test]
    fn raw_messages_carry_their_bytes_through_the_codec() {
        let bytes = [0x08, 0x96, 0x01, 0x12, 0x01, b'x'];
        let raw = Raw::decode_slice(&bytes).unwrap();
        assert_eq!(raw.encode_to_vec(), bytes);
        assert_eq!(Raw::new(&bytes), raw);
    }
}
